# Install rules and the Debian packages (included by the top CMakeLists).
#
# Three install components, one package each (`cpack -G DEB` in the build
# directory); `cmake --install` installs the union, the same files:
#   scheduler -> drover-scheduler: the daemon, its unit, /etc/drover/drover.conf
#                (a conffile), the vm-size catalog, drover-scheduler(8),
#                drover.conf(5)
#   agent     -> drover-agent: the daemon and drover-launch, its unit,
#                /etc/drover/agent.conf.example, drover-agent(8)
#   cli       -> drover: the command line, drover(1)
# No key is ever installed: the scheduler makes its own on first start, an
# agent gets one by join token or from its operator.
#
# The units and the files under /etc name absolute paths that depend on the
# prefix, which is known only at install time (/usr for the packages,
# whatever --prefix says for `cmake --install`): those are written then, by
# deploy/install_paths.cmake, not at configure time.

set(DROVER_SYSTEMD_UNITDIR lib/systemd/system CACHE STRING
    "where the systemd units go, relative to the install prefix")
set(DR_PATHS ${CMAKE_CURRENT_SOURCE_DIR}/deploy/install_paths.cmake)
set(DR_GEN ${CMAKE_CURRENT_BINARY_DIR}/deploy)

# drover_install_unit(COMPONENT UNIT): deploy/systemd/UNIT.in with @BINDIR@
# and @SYSCONFDIR@ filled in for the install prefix.
function(drover_install_unit component unit)
  set(out ${DR_GEN}/${unit})
  install(CODE "include(\"${DR_PATHS}\")
    configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/deploy/systemd/${unit}.in\"
                   \"${out}\" @ONLY)
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${DROVER_SYSTEMD_UNITDIR}\"
         TYPE FILE FILES \"${out}\")"
    COMPONENT ${component})
endfunction()

# drover_install_conf(COMPONENT FILE NAME): FILE as SYSCONFDIR/drover/NAME.
function(drover_install_conf component file name)
  install(CODE "include(\"${DR_PATHS}\")
    file(INSTALL DESTINATION \"\${SYSCONFDIR}/drover\" TYPE FILE
         RENAME ${name} FILES \"${CMAKE_CURRENT_SOURCE_DIR}/${file}\")"
    COMPONENT ${component})
endfunction()

install(TARGETS drover-scheduler RUNTIME DESTINATION bin COMPONENT scheduler)
drover_install_unit(scheduler drover-scheduler.service)
drover_install_conf(scheduler deploy/drover.conf.example drover.conf)
install(FILES deploy/vm-sizes.csv DESTINATION share/drover COMPONENT scheduler)
install(FILES docs/man/drover-scheduler.8 DESTINATION share/man/man8
        COMPONENT scheduler)
install(FILES docs/man/drover.conf.5 DESTINATION share/man/man5
        COMPONENT scheduler)

install(TARGETS drover-agent drover-launch RUNTIME DESTINATION bin
        COMPONENT agent)
drover_install_unit(agent drover-agent.service)
drover_install_conf(agent deploy/agent.conf.example agent.conf.example)
install(FILES docs/man/drover-agent.8 DESTINATION share/man/man8
        COMPONENT agent)

install(TARGETS drover RUNTIME DESTINATION bin COMPONENT cli)
install(FILES docs/man/drover.1 DESTINATION share/man/man1 COMPONENT cli)
install(FILES deploy/bash-completion/drover
        DESTINATION share/bash-completion/completions COMPONENT cli)

# Debian's /usr/share/doc/PACKAGE/copyright
foreach(pair scheduler:drover-scheduler agent:drover-agent cli:drover)
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 comp)
  list(GET pair 1 pkg)
  install(FILES LICENSE DESTINATION share/doc/${pkg} RENAME copyright
          COMPONENT ${comp})
endforeach()

# --- Debian packages ---------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME drover)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR drover)
set(CPACK_PACKAGE_CONTACT "drover maintainers <drover@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# one description per package below: its first line is the summary
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL scheduler agent cli)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_SCHEDULER_PACKAGE_NAME drover-scheduler)
set(CPACK_DEBIAN_SCHEDULER_DESCRIPTION "drover scheduler, the central daemon of a compute cluster
Places jobs on the nodes of its clusters, autoscales them and keeps its
state in SQLite under /var/lib/drover.")
set(CPACK_DEBIAN_SCHEDULER_PACKAGE_RECOMMENDS "drover, drover-agent")

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME drover-agent)
set(CPACK_DEBIAN_AGENT_DESCRIPTION "drover node agent, with drover-launch
Runs on every node of a drover cluster: registers with the scheduler and
runs its tasks as processes or Docker containers.")
set(CPACK_DEBIAN_AGENT_PACKAGE_SUGGESTS "docker.io, openmpi-bin")

# what the programs dlopen (libzmq in the CLI, libarchive in all three)
# dpkg-shlibdeps cannot see: named here, their Debian package named as
# the soname says (libzmq.so.5 -> libzmq5), merged with what it finds
string(REGEX REPLACE "^lib(.*)\\.so\\.([0-9]+)$" "lib\\1\\2" DR_DEB_ARCHIVE "${ARCHIVE_SONAME}")
string(REGEX REPLACE "^lib(.*)\\.so\\.([0-9]+)$" "lib\\1\\2" DR_DEB_ZMQ "${ZMQ_SONAME}")
set(CPACK_DEBIAN_SCHEDULER_PACKAGE_DEPENDS "${DR_DEB_ARCHIVE}")
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "${DR_DEB_ARCHIVE}")
set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "${DR_DEB_ZMQ}, ${DR_DEB_ARCHIVE}")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME drover)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_CLI_DESCRIPTION "drover command line
Creates clusters, submits and follows jobs, manages nodes, quotas and keys.")

# maintainer scripts (deploy/debian/*.in) and the conffiles of each package
foreach(spec "scheduler;drover-scheduler;/var/lib/drover;yes;drover.conf"
             "agent;drover-agent;/var/lib/drover-agent;no;agent.conf.example")
  list(GET spec 0 comp)
  list(GET spec 1 PKG)
  list(GET spec 2 STATE_DIR)
  list(GET spec 3 RESTART)
  list(GET spec 4 conf)
  set(UNIT ${PKG}.service)
  set(dir ${DR_GEN}/debian/${PKG})
  configure_file(deploy/debian/postinst.in ${dir}/postinst @ONLY)
  configure_file(deploy/debian/prerm.in ${dir}/prerm @ONLY)
  file(WRITE ${dir}/conffiles "/etc/drover/${conf}\n")
  string(TOUPPER ${comp} COMP)
  set(CPACK_DEBIAN_${COMP}_PACKAGE_CONTROL_EXTRA
      ${dir}/postinst ${dir}/prerm ${dir}/conffiles)
endforeach()

include(CPack)
