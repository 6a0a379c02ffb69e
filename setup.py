"""Packaging for vicid: the daemon, its built-in KE plugins (plugins/ as vicid_plugins) and swanctl."""

from setuptools import find_packages, setup

PLUGINS = ["ml", "openssl", "dh"]

setup(
    name="vicid",
    version="0.1.0",
    description="IKEv2 daemon driven through strongSwan's vici protocol, with a post-quantum core",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["vicid", "vicid.*", "swanctl", "swanctl.*", "bench", "bench.*"])
    + ["vicid_plugins"] + [f"vicid_plugins.{p}" for p in PLUGINS],
    package_dir={"vicid_plugins": "plugins"},
    package_data={"swanctl": ["schema/*.json"]},
    install_requires=[
        "trio>=0.27,<0.36",
        "cryptography>=46,<51",
        "pqcrypto>=0.3,<2",
        "pyroute2>=0.9,<0.10",
        "pyOpenSSL>=25,<27",  # EAP-TLS: TLS over memory BIOs with keying material exporters
    ],
    extras_require={
        "test": [
            "pytest>=8,<10",
            "pytest-trio>=0.8,<0.9",
            "hypothesis>=6.100,<7",
            "vici==6.0.3",
            "ruff>=0.6,<1",
            "py-spy>=0.3,<1",  # bench/: CPU profile of vicid next to the numbers
        ],
    },
    entry_points={
        "console_scripts": [
            "vicid = vicid.daemon.main:main",
            # Not "swanctl": a system swanctl must stay the default one on PATH.
            "vicid-swanctl = swanctl.cli:main",
        ],
        "vicid.ke": [f"{p} = vicid_plugins.{p}:PLUGIN" for p in PLUGINS],
    },
)
