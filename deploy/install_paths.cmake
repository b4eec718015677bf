# Run at install time (from the install(CODE) rules of deploy/packaging.cmake),
# when the prefix is finally known: /usr under cpack, --prefix or
# CMAKE_INSTALL_PREFIX under `cmake --install`.  Sets the absolute paths
# that installed files name: BINDIR (where install(TARGETS) put the
# programs) and SYSCONFDIR (/etc for the /usr prefix, as Debian and
# GNUInstallDirs have it; PREFIX/etc otherwise).
set(BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(SYSCONFDIR /etc)
else()
  set(SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/etc")
endif()
