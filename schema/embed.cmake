# Turns the migrations of one engine into a C header of string literals, in order, so the server
# carries them and starts from any working directory. Called by CMake at build time with SRC (the
# directory), DST (the header) and NAME (the array):
#   sw_migrations[]     schema/migrations (SQLite): positional, migration N is the one that takes a
#                       database to PRAGMA user_version N;
#   sw_pg_migrations[]  schema/pg (PostgreSQL): each with the version its file name begins with
#                       (NNN_*.sql), which it takes the database to.
file(GLOB migrations "${SRC}/*.sql")
list(SORT migrations)
if(NOT NAME)
  set(NAME sw_migrations)
endif()
set(out "/* generated from ${SRC} by schema/embed.cmake: do not edit */\n")
if(NAME STREQUAL "sw_migrations")
  string(APPEND out "static const char *const ${NAME}[] = {\n")
else()
  string(APPEND out "static const struct { int version; const char *sql; } ${NAME}[] = {\n")
endif()
foreach(f ${migrations})
  file(READ "${f}" sql)
  string(REPLACE "\\" "\\\\" sql "${sql}")
  string(REPLACE "\"" "\\\"" sql "${sql}")
  string(REPLACE "\n" "\\n\"\n\"" sql "${sql}")
  if(NAME STREQUAL "sw_migrations")
    string(APPEND out "\"${sql}\",\n")
  else()
    get_filename_component(base "${f}" NAME)
    string(REGEX MATCH "^[0-9]+" num "${base}")
    math(EXPR num "${num}") # no leading zeros: not an octal literal
    string(APPEND out "{${num}, \"${sql}\"},\n")
  endif()
endforeach()
if(NOT NAME STREQUAL "sw_migrations" AND NOT migrations)
  string(APPEND out "{0, 0},\n") # none yet: an empty array is not C
endif()
string(APPEND out "};\n")
file(WRITE "${DST}.tmp" "${out}")
file(COPY_FILE "${DST}.tmp" "${DST}" ONLY_IF_DIFFERENT)
