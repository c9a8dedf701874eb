"""Prints one `module Class.test_method` line per integration test, found by parsing the files
(nothing is imported), so CMake registers each test case as its own CTest test."""
import ast
import pathlib
import sys

here = pathlib.Path(__file__).parent
for path in sorted(here.glob("test_*.py")):
    tree = ast.parse(path.read_text(), str(path))
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test_"):
                    print(path.stem, "%s.%s" % (node.name, item.name))
sys.exit(0)
