# Extract the first ```c block of the README and build it as a plugin with
# the flags plugins get: the documentation cannot drift from the ABI.
file(READ ${README} text)
string(FIND "${text}" "```c\n" start)
if(start EQUAL -1)
  message(FATAL_ERROR "no C example in the README")
endif()
math(EXPR start "${start} + 5")
string(SUBSTRING "${text}" ${start} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} code)
file(MAKE_DIRECTORY ${OUT})
file(WRITE ${OUT}/example.c "${code}")
execute_process(
  COMMAND ${CC} -std=c17 -pedantic -Wall -Wextra -Werror -fPIC -shared
          -fvisibility=hidden -Wl,--no-undefined -I${INCLUDE}
          ${OUT}/example.c -o ${OUT}/noheadless.so
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README's plugin example does not build")
endif()
