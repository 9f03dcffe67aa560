# ctest driver for the C++ example: it must exit 0 AND print the clip score (a
# PASS_REGULAR_EXPRESSION alone would ignore the exit status).
#   cmake -DEXAMPLE=<exe> -DBUNDLE=<dir> -DCLIP=<y4m> -P run_example.cmake
execute_process(COMMAND "${EXAMPLE}" "${BUNDLE}" "${CLIP}"
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${EXAMPLE} exited with ${result}")
endif()
# 20 frames at 8 fps: key frames 0, 8 and 16, each printed as it arrives, then the clip score.
foreach(expected
    "key frame 0 \\(frame 0\\): [01]\\.[0-9]+"
    "key frame 1 \\(frame 8\\): [01]\\.[0-9]+"
    "key frame 2 \\(frame 16\\): [01]\\.[0-9]+"
    "clip score [01]\\.[0-9]+ \\(20 frames, 3 key frames\\)")
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "the output lacks /${expected}/")
  endif()
endforeach()
