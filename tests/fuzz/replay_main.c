/*
 * replay_main.c - gives every fuzz target a main() that replays files and directories
 * (SQLite fuzzcheck's idea): each input is copied into an exact-size heap buffer, not
 * NUL-terminated, so overreads trip ASan. Missing directories are skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replayed;

static int
replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (fp == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return 1;
    }
    buf = malloc(n ? (size_t)n : 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        fclose(fp);
        return 1;
    }
    fclose(fp);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    replayed++;
    return 0;
}

static int
replay_path(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char sub[4096];
    int rc = 0;

    if (stat(path, &st) != 0) {
        return 0; /* an absent corpus directory is not an error */
    }
    if (!S_ISDIR(st.st_mode)) {
        return replay_file(path);
    }
    if ((d = opendir(path)) == NULL) {
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        rc |= replay_path(sub);
    }
    closedir(d);
    return rc;
}

int
main(int argc, char **argv)
{
    int i, rc = 0;
    for (i = 1; i < argc; i++) {
        rc |= replay_path(argv[i]);
    }
    printf("replayed %d inputs\n", replayed);
    return rc;
}
