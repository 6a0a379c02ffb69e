"""IPsec backends the daemon shell drives with the engine's kernel effects (design §1.8).

``port`` holds the contract (``KernelPort``, kernel events, ``select_kernel``), ``xfrm`` the Linux
XFRM backend (charon's kernel-netlink), ``fake`` a recording port for tests; the userspace ESP
backend (charon's kernel-libipsec) lives in ``vicid.datapath.port``.
"""
