# libnats over TLS (tls_interop.py): against nats-server with a `tls {}` block, which proves
# the checks, and against `embed serve --tls-cert ...`; plain TLS and mutual TLS. The
# certificates are made per run by make_test_certs (embed/testing/test_certs.h). Include after
# peers.cmake (it uses embed_interop_servers, EMBED_WARNINGS and libnats_check_util).
# Label: interop.

add_executable(libnats_tls_checks ${CMAKE_CURRENT_LIST_DIR}/libnats_tls_checks.c)
set_target_properties(libnats_tls_checks PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON
                                                    C_EXTENSIONS OFF)
target_compile_options(libnats_tls_checks PRIVATE ${EMBED_WARNINGS})
target_link_libraries(libnats_tls_checks PRIVATE libnats_check_util)

add_executable(make_test_certs ${CMAKE_CURRENT_LIST_DIR}/make_test_certs.cc)
target_compile_options(make_test_certs PRIVATE ${EMBED_WARNINGS})
target_link_libraries(make_test_certs PRIVATE embed::test_certs)

foreach(server IN LISTS embed_interop_servers)
  string(REPLACE "|" ";" server "${server}")
  list(GET server 0 suffix)
  list(GET server 1 kind)
  list(GET server 2 binary)
  foreach(mode IN ITEMS tls mtls)
    set(mutual_flag "")
    if(mode STREQUAL "mtls")
      set(mutual_flag --mutual)
    endif()
    add_test(NAME interop_libnats_${mode}_vs_${suffix}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/tls_interop.py
                     --server ${kind} --binary ${binary}
                     --certs-tool $<TARGET_FILE:make_test_certs>
                     --checks $<TARGET_FILE:libnats_tls_checks> ${mutual_flag})
    set_tests_properties(interop_libnats_${mode}_vs_${suffix} PROPERTIES
                         LABELS interop TIMEOUT 180)
  endforeach()
endforeach()
