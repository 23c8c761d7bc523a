# embed_protobuf_generate(<target> PROTOS <files...> [IMPORT_DIRS <dirs...>])
#
# Compiles .proto files into a static library <target> holding both the
# protobuf messages (protoc's <name>.pb.h/.pb.cc) and the Embed RPC stubs
# (protoc-gen-embed's <name>.embed.h/.embed.cc):
#
#   embed_protobuf_generate(greeter_proto PROTOS greeter.proto)
#   target_link_libraries(greeter_server PRIVATE greeter_proto)  # #include "greeter.embed.h"
#
# - PROTOS: the .proto files to compile (relative to the current source dir,
#   or absolute).
# - IMPORT_DIRS: protoc's -I dirs, in order (default: the directory of the
#   first proto). Every proto must lie under one of them; its generated files
#   keep its path below that dir (IMPORT_DIRS protos, PROTOS protos/a/b.proto
#   -> #include "a/b.embed.h"). The well-known types (google/protobuf/*.proto)
#   are always found.
# - The files are generated into ${CMAKE_CURRENT_BINARY_DIR}/<target>_gen,
#   the library's PUBLIC include dir. <target> links embed::rpc and
#   protobuf::libprotobuf PUBLIC. The .embed.cc files compile with the
#   project's warnings (EMBED_WARNINGS); protoc's .pb.cc without them.
# - Each proto is regenerated when any of PROTOS or protoc-gen-embed changes.
#   List imported protos in PROTOS too (a proto imported from another
#   library's dir is only read, not compiled: put that dir in IMPORT_DIRS).

find_package(Protobuf REQUIRED)

function(embed_protobuf_generate TARGET)
  cmake_parse_arguments(ARG "" "" "PROTOS;IMPORT_DIRS" ${ARGN})
  if(NOT ARG_PROTOS)
    message(FATAL_ERROR "embed_protobuf_generate(${TARGET}): no PROTOS given")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "embed_protobuf_generate(${TARGET}): unknown arguments "
                        "${ARG_UNPARSED_ARGUMENTS}")
  endif()

  set(protos "")
  foreach(proto IN LISTS ARG_PROTOS)
    get_filename_component(proto "${proto}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND protos "${proto}")
  endforeach()
  set(import_dirs "")
  if(ARG_IMPORT_DIRS)
    foreach(dir IN LISTS ARG_IMPORT_DIRS)
      get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
      list(APPEND import_dirs "${dir}")
    endforeach()
  else()
    list(GET protos 0 first_proto)
    get_filename_component(dir "${first_proto}" DIRECTORY)
    list(APPEND import_dirs "${dir}")
  endif()
  set(import_flags "")
  foreach(dir IN LISTS import_dirs)
    list(APPEND import_flags "-I${dir}")
  endforeach()

  set(out "${CMAKE_CURRENT_BINARY_DIR}/${TARGET}_gen")
  set(sources "")
  foreach(proto IN LISTS protos)
    # protoc names outputs after the proto's path below the first import dir
    # holding it.
    set(relative "")
    foreach(dir IN LISTS import_dirs)
      file(RELATIVE_PATH candidate "${dir}" "${proto}")
      if(NOT candidate MATCHES "^\\.\\./" AND NOT IS_ABSOLUTE "${candidate}")
        set(relative "${candidate}")
        break()
      endif()
    endforeach()
    if(relative STREQUAL "")
      message(FATAL_ERROR "embed_protobuf_generate(${TARGET}): ${proto} is not under any of "
                          "IMPORT_DIRS (${import_dirs})")
    endif()
    string(REGEX REPLACE "\\.proto$" "" stem "${relative}")
    set(generated
      "${out}/${stem}.pb.h" "${out}/${stem}.pb.cc"
      "${out}/${stem}.embed.h" "${out}/${stem}.embed.cc")
    add_custom_command(
      OUTPUT ${generated}
      COMMAND ${CMAKE_COMMAND} -E make_directory "${out}"
      COMMAND protobuf::protoc
              "--plugin=protoc-gen-embed=$<TARGET_FILE:protoc-gen-embed>"
              "--cpp_out=${out}" "--embed_out=${out}" ${import_flags} "${proto}"
      DEPENDS ${protos} protoc-gen-embed protobuf::protoc
      COMMENT "protoc (messages, Embed RPC stubs): ${relative}"
      VERBATIM)
    set_source_files_properties("${out}/${stem}.embed.cc" PROPERTIES
      COMPILE_OPTIONS "${EMBED_WARNINGS}")
    list(APPEND sources ${generated})
  endforeach()

  add_library(${TARGET} STATIC ${sources})
  target_include_directories(${TARGET} PUBLIC "${out}")
  target_link_libraries(${TARGET} PUBLIC embed::rpc protobuf::libprotobuf)
endfunction()
