# Our client (embed::client) against nats-server, and against our broker when
# it is part of the build. One binary, label interop:
#  - the interop cases of client_vs_nats_server_test.cc, over every server kind;
#  - the transport cases of client_vs_nats_server_transports_test.cc (tls://,
#    ws://, wss://; TLS certificates made at test time by embed::test_certs),
#    over every kind that can start those listeners;
#  - with the broker, the client's whole driver suite (embed/client/connection_test.cc and
#    connection_shutdown_test.cc)
#    instantiated against the broker (embed_client_test runs it against nats-server).
if(TARGET embed::client AND TARGET embed_client_testing AND TARGET embed::test_certs)
  if(TARGET embed::broker)
    embed_test(embed_client_interop_test
      SOURCES ${CMAKE_CURRENT_LIST_DIR}/client_vs_nats_server_test.cc
              ${CMAKE_CURRENT_LIST_DIR}/client_vs_nats_server_transports_test.cc
              ${PROJECT_SOURCE_DIR}/embed/client/connection_test.cc
              ${PROJECT_SOURCE_DIR}/embed/client/connection_shutdown_test.cc
      DEPS embed::client embed_client_testing embed::test_certs embed::broker
      LABELS interop)
    target_compile_definitions(embed_client_interop_test PRIVATE
      EMBED_CLIENT_INTEROP_WITH_BROKER=1 EMBED_CLIENT_TEST_EXTRA_SERVER_KINDS=1)
  else()
    embed_test(embed_client_interop_test
      SOURCES ${CMAKE_CURRENT_LIST_DIR}/client_vs_nats_server_test.cc
              ${CMAKE_CURRENT_LIST_DIR}/client_vs_nats_server_transports_test.cc
      DEPS embed::client embed_client_testing embed::test_certs
      LABELS interop)
  endif()
endif()
