"""Build the compiled core of the matching engine (Cython, C++17)."""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        f"mars_core.engine.{name}",
        [f"mars_core/engine/{name}.pyx"],
        language="c++",
        include_dirs=[numpy.get_include()],
        extra_compile_args=["-O3", "-std=c++17"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in ("_core", "_book", "_replay")
]

setup(
    ext_modules=cythonize(
        extensions, language_level=3, compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True}
    )
)
