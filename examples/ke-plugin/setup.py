"""A third-party key-exchange plugin for vicid, packaged on its own.

Installing it is all it takes: vicid finds it through the ``vicid.ke`` entry-point group.
"""

from setuptools import setup

setup(
    name="vicid-ke-example",
    version="0.1.0",
    description="Example vicid KE plugin: a toy X25519 + ML-KEM-768 hybrid at private-use ID 1025",
    python_requires=">=3.11",
    packages=["vicid_ke_example"],
    install_requires=["vicid", "cryptography>=46"],
    entry_points={"vicid.ke": ["example = vicid_ke_example:PLUGIN"]},
)
