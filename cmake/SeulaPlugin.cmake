# seula_add_plugin(NAME SOURCES src... [LIBS lib...] [OUTPUT_DIR dir]
#                  [NO_INSTALL] [ALLOW_UNDEFINED])
#
# Builds a plugin as a MODULE named NAME.so (in <build>/plugins unless
# OUTPUT_DIR says otherwise), with hidden visibility (only the
# SEULA_PLUGIN_EXPORT descriptor is exported) and -Wl,--no-undefined, so a
# plugin that reaches for a core symbol fails to link instead of failing at
# dlopen.  ALLOW_UNDEFINED exists for the test plugin that proves the loader
# refuses exactly that.
function(seula_add_plugin name)
  cmake_parse_arguments(P "NO_INSTALL;ALLOW_UNDEFINED" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins)
  endif()
  add_library(plugin_${name} MODULE ${P_SOURCES})
  set_target_properties(plugin_${name} PROPERTIES
    OUTPUT_NAME ${name}
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  target_include_directories(plugin_${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  if(NOT P_ALLOW_UNDEFINED)
    target_link_options(plugin_${name} PRIVATE -Wl,--no-undefined)
  endif()
  target_link_libraries(plugin_${name} PRIVATE ${P_LIBS})
  if(NOT P_NO_INSTALL)
    install(TARGETS plugin_${name} LIBRARY DESTINATION ${SEULA_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
