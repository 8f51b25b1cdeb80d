# Embed data files into C sources at build time (rules, migrations, web assets).

# One file -> `const char SYMBOL[]; const size_t SYMBOL_len;`
function(bnc_embed input symbol output)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DMODE=one -DOUT=${output} -DSYM=${symbol} -DFILES=${input}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${input} ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${input}")
endfunction()

# Many files -> `const struct bnc_embedded SYMBOL[]` (name, data, len), NULL-terminated,
# sorted by name.
function(bnc_embed_dir symbol output)
  set(files ${ARGN})
  list(SORT files)
  string(REPLACE ";" "|" joined "${files}")
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DMODE=many -DOUT=${output} -DSYM=${symbol} "-DFILES=${joined}"
            -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${symbol}"
    VERBATIM) # the file list is joined with '|': quote it from the shell
endfunction()
