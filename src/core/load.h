/*
 * load.h - what the library reads from disk besides its configuration file: the operator's
 * rule files (rules.dir/NAME.rules, rules.file, `--rules FILE`) and the cache of compiled
 * pattern databases (rules.cache_dir). parse/ and classify/ do no I/O (DESIGN §1): they get
 * rule texts and cached database bytes from here and hand back bytes to keep.
 * Ownership: texts and bytes returned here belong to the caller (the functions say how to
 * free them); everything passed in is borrowed for the call.
 */
#ifndef BNC_CORE_LOAD_H
#define BNC_CORE_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "bounced.h"

struct bnc_config;

/* Where a problem with a rule source is reported: where is "file" or "file:line". */
typedef void (*rules_err_cb)(void *ud, const char *where, const char *msg);

/* One rule text and where it came from (a file name, "db:<id>", ...). text may hold several
 * lines. Borrowed wherever it is passed, unless load_rule_file() filled it. */
struct rule_src {
    const char *text;
    const char *origin;
};

/* ---- rule files ---- */

/* Read the rules file at path (at most LOAD_RULES_FILE_MAX bytes, no NUL byte) into *out
 * (owned: release with load_rule_src_free()). BNC_EIO or BNC_EINVAL with a message in err. */
bnc_status load_rule_file(const char *path, struct rule_src *out, char *err, size_t errlen);
void load_rule_src_free(struct rule_src *src); /* NULL fields are fine */

/* Called once per rule file, in load order, with its whole text (text[0..len), NUL-terminated
 * at len; it may hold NUL bytes, which the rule syntax rejects line by line). Borrowed for
 * the call. */
typedef void (*load_rules_fn)(void *ud, const char *origin, const char *text, size_t len);

/* The rule files cfg names, in order: rules.dir's NAME.rules (not hidden) in name order, then
 * rules.file. A file that cannot be read is reported through cb (may be NULL) as "path" and
 * skipped; a rules.dir that does not exist is the normal case and is not reported. */
void load_rule_files(const struct bnc_config *cfg, load_rules_fn fn, rules_err_cb cb, void *ud);

/* ---- the cache of compiled databases ---- */

/* The cache directory cfg names (rules.cache_dir; "auto" is $XDG_CACHE_HOME/bounced or
 * ~/.cache/bounced), into out[0..cap); false when the cache is off or has no usable place. */
bool load_cache_dir(const struct bnc_config *cfg, char *out, size_t cap);

/* The database bytes stored in dir for exactly key[0..keylen) (compared byte for byte, so a
 * hash collision or a file of other input is a miss), in a heap buffer the caller frees, and
 * their length in *len_out; NULL on a miss or when the file is not ours. */
char *load_cache_get(const char *dir, const char *key, size_t keylen, size_t *len_out);

/* Keep db[0..dblen), compiled from key[0..keylen), in dir (created when missing): written to
 * a temporary file and renamed, then files of other keys unused for a long time are removed.
 * Failures are silent: the next start compiles again. */
void load_cache_put(const char *dir, const char *key, size_t keylen, const void *db, size_t dblen);

#endif
