# Install-time part of `cmake --install` (CMakeLists.txt sets SW_SOURCE_DIR, SW_BINDIR,
# SW_SYSCONFDIR, SW_DATADIR, SW_DOCDIR before this runs). Runs with the prefix given at install
# time (--prefix), honours DESTDIR, and never overwrites a config an operator edited: a differing
# installed file gets the new version next to it as FILE.new.
set(prefix "${CMAKE_INSTALL_PREFIX}")
function(sw_dir out rel)
  if(IS_ABSOLUTE "${rel}")
    set(${out} "${rel}" PARENT_SCOPE)
  else()
    set(${out} "${prefix}/${rel}" PARENT_SCOPE)
  endif()
endfunction()
if(SW_SYSCONFDIR STREQUAL "etc" AND prefix STREQUAL "/usr")
  set(etc "/etc") # GNUInstallDirs: the /usr prefix keeps its config in /etc
else()
  sw_dir(etc "${SW_SYSCONFDIR}")
endif()
sw_dir(bindir "${SW_BINDIR}")
sw_dir(datadir "${SW_DATADIR}")
sw_dir(docdir "${SW_DOCDIR}")

# Writes content to DESTDIR/path; an existing different file is kept (the new one goes to .new).
function(sw_write path content keep)
  set(dest "$ENV{DESTDIR}${path}")
  if(keep AND EXISTS "${dest}")
    file(READ "${dest}" old)
    if(NOT old STREQUAL content)
      message(STATUS "Keeping: ${dest} (edited; the new version is ${dest}.new)")
      file(WRITE "${dest}.new" "${content}")
      return()
    endif()
  endif()
  message(STATUS "Installing: ${dest}")
  file(WRITE "${dest}" "${content}")
endfunction()

# The server config: the installed dashboards, the state directory of the systemd unit.
file(READ "${SW_SOURCE_DIR}/config/spillwatch.json" cfg)
string(JSON cfg SET "${cfg}" www "\"${datadir}/spillwatch/www\"")
string(JSON cfg SET "${cfg}" db "\"/var/lib/spillwatch/spillwatch.db\"")
string(JSON cfg SET "${cfg}" _comment "\"spillwatch server config (installed). Relative paths are resolved against this file's directory. Keys: ${docdir}/configuration.md; deployment: ${docdir}/deployment.md.\"")
sw_write("${etc}/spillwatch/spillwatch.json" "${cfg}\n" ON)
file(READ "${SW_SOURCE_DIR}/config/na64mu.json" prof)
sw_write("${etc}/spillwatch/na64mu.json" "${prof}" ON)

# systemd units: the repository's copies name the /usr layout; rewritten to this prefix.
file(GLOB units "${SW_SOURCE_DIR}/deploy/systemd/*.service")
foreach(u ${units})
  file(READ "${u}" text)
  string(REPLACE "/usr/bin/" "${bindir}/" text "${text}")
  string(REPLACE "/etc/spillwatch/" "${etc}/spillwatch/" text "${text}")
  string(REPLACE "/usr/share/doc/spillwatch" "${docdir}" text "${text}")
  get_filename_component(name "${u}" NAME)
  sw_write("${prefix}/lib/systemd/system/${name}" "${text}" OFF)
endforeach()
