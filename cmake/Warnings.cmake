# Warning flags, probed per compiler (STYLE §16).
include(CheckCCompilerFlag)

set(BNC_WARNING_FLAGS "")
foreach(flag -Wall -Wextra -Wpedantic -Wshadow -Wpointer-arith -Wcast-qual -Wcast-align
        -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations -Wold-style-definition
        -Wformat=2 -Wformat-security -Wimplicit-fallthrough -Wvla -Wundef -Wwrite-strings
        -Wnull-dereference -Wsign-compare -Werror=implicit-function-declaration
        -Werror=incompatible-pointer-types -Wduplicated-cond -Wduplicated-branches -Wlogical-op
        -Wjump-misses-init -Wcomma -Wconditional-uninitialized)
  string(MAKE_C_IDENTIFIER "HAVE${flag}" var)
  check_c_compiler_flag(${flag} ${var})
  if(${var})
    list(APPEND BNC_WARNING_FLAGS ${flag})
  endif()
endforeach()
# -Wcast-qual fires on every iconv/libc API taking char **; keep it but not as an error.
if(BNC_WERROR)
  list(APPEND BNC_WARNING_FLAGS -Werror)
endif()

function(bnc_warnings target)
  target_compile_options(${target} PRIVATE ${BNC_WARNING_FLAGS})
endfunction()
