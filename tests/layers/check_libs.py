#!/usr/bin/env python3
"""check_libs.py SOURCE_DIR BUILD_DIR: each CMake library declares exactly the libraries it
uses (issue 21, DESIGN §2).

For every bnc_link(bnc_X ...) of CMakeLists.txt, the libraries its own code calls, found with
nm in libbnc_X.a: a project library that defines a symbol bnc_X leaves undefined, or a
pkg-config package whose shared library does. The declared set and the used set must be the
same: nothing used without being declared (the parse library once used Vectorscan through
classify's declaration), nothing declared without being used. Threads::Threads is not
checked (glibc holds pthread). Exit 0, 1 with the differences, 77 without nm or pkg-config.
"""
import collections
import os
import re
import shutil
import subprocess
import sys

# CMake target -> pkg-config module (the names of CMakeLists.txt's pkg_check_modules)
PKGS = {
    "PkgConfig::HS": ["libhs"], "PkgConfig::JANSSON": ["jansson"],
    "PkgConfig::SQLITE3": ["sqlite3"], "PkgConfig::LIBPQ": ["libpq"],
    "PkgConfig::MHD": ["libmicrohttpd"],
    "PkgConfig::LIBEVENT": ["libevent", "libevent_pthreads", "libevent_openssl"],
    "PkgConfig::CURL": ["libcurl"], "PkgConfig::OPENSSL": ["openssl"],
    "PkgConfig::INIH": ["inih"], "PkgConfig::IDN2": ["libidn2"], "PkgConfig::ZLIB": ["zlib"],
    "PkgConfig::LIBSYSTEMD": ["libsystemd"],
}
UNCHECKED = {"Threads::Threads"}


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout


def declared(cmake):
    text = open(cmake).read()
    out = {}
    for m in re.finditer(r"bnc_link\((bnc_\w+)\s+([^)]*)\)", text):
        out[m.group(1)] = set(m.group(2).split()) - UNCHECKED
    return out


def shared_defs():
    """symbol -> CMake target, from the shared libraries the packages name."""
    defs = {}
    for target, mods in PKGS.items():
        for mod in mods:
            flags = run("pkg-config", "--libs", mod).split()
            dirs = [f[2:] for f in flags if f.startswith("-L")]
            dirs += ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/lib",
                     "/usr/lib64"]
            for lib in [f[2:] for f in flags if f.startswith("-l")]:
                for d in dirs:
                    so = os.path.join(d, "lib%s.so" % lib)
                    if os.path.exists(so):
                        for line in run("nm", "-D", "--defined-only", so).splitlines():
                            parts = line.split()
                            if len(parts) == 3:
                                defs.setdefault(parts[2].split("@")[0], target)
                        break
    return defs


def main():
    src, build = sys.argv[1], sys.argv[2]
    if shutil.which("nm") is None or shutil.which("pkg-config") is None:
        print("skip: nm or pkg-config missing")
        return 77
    decl = declared(os.path.join(src, "CMakeLists.txt"))
    ours, undef = {}, collections.defaultdict(set)
    for lib in decl:
        path = os.path.join(build, "lib%s.a" % lib)
        if not os.path.exists(path):
            print("FAIL %s: %s not built" % (lib, path))
            return 1
        for line in run("nm", "-g", path).splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBRVWC":
                ours.setdefault(parts[2], lib)
            elif len(parts) == 2 and parts[0] in "Uw":
                undef[lib].add(parts[1])
    ext = shared_defs()
    bad = 0
    for lib in sorted(decl):
        used = set()
        for sym in undef[lib]:
            if sym in ours and ours[sym] != lib:
                used.add(ours[sym])
            elif sym in ext:
                used.add(ext[sym])
        if used != decl[lib]:
            bad += 1
            if used - decl[lib]:
                print("FAIL %s uses but does not declare: %s" % (lib, " ".join(sorted(used - decl[lib]))))
            if decl[lib] - used:
                print("FAIL %s declares but does not use: %s" % (lib, " ".join(sorted(decl[lib] - used))))
        else:
            print("ok   %s: %s" % (lib, " ".join(sorted(used))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
