# Turns a data file into a C header with a byte array (no xxd needed).
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\n"
  "static const unsigned char dr_vm_sizes_csv[] = {${body}};\n")
