# channel-family stubs (issue 3), appended to fastact/_api.pyi by pyx/codegen.py
