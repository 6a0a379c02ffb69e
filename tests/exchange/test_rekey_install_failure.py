"""A CHILD_SA rekey whose new SA the backend refuses after the last IKE_FOLLOWUP_KE round.

The keys of a multi-KE CHILD_SA exist only once every additional key exchange is done, so the
kernel install happens in the last IKE_FOLLOWUP_KE exchange. charon treats a failure there like
any other CHILD_SA failure (``child_create.c`` handle_child_sa_failure, ``child_rekey.c``): the
responder answers NO_PROPOSAL_CHOSEN, the rekeying initiator deletes the replacement the peer
installed; the old CHILD_SA is closed and recreated, and the IKE_SA always stays up.
"""

from __future__ import annotations

import pytest

from tests.exchange.test_rekey import child_states, established, msgs, run
from vicid.ike.effects import InstallChildSa
from vicid.ike.wire.enums import ExchangeType
from vicid.kernel.fake import FakeKernel
from vicid.kernel.port import KernelError

E = ExchangeType


def fail_next_install(node) -> FakeKernel:
    """Give NODE a fake kernel that refuses the next SA it is asked for, then accepts again; the
    engine calls it synchronously, as the daemon wires ``install_sa_now`` (a KernelError becomes
    the failure reason)."""
    kernel = FakeKernel()
    kernel.fail_next(InstallChildSa, "unable to add SAD entry: File exists")

    def install(effect: InstallChildSa) -> str | None:
        try:
            kernel.install_sa_now(effect)
        except KernelError as exc:
            return str(exc)
        return None

    node.manager.ctx.install_sa = install
    return kernel


@pytest.mark.parametrize("kes", [2, 3])
@pytest.mark.parametrize("rekeyer", ["carol", "moon"])
@pytest.mark.parametrize("failing", ["rekeyer", "peer"])
def test_failed_install_in_last_followup_round_keeps_ike_sa(kes, rekeyer, failing):
    p = established(kes)
    a, b = (p.carol, p.moon) if rekeyer == "carol" else (p.moon, p.carol)
    failer = a if failing == "rekeyer" else b
    kernel = fail_next_install(failer)
    ike_a, ike_b = a.sa, b.sa
    a.manager.rekey_child(a.sa.children[0].uniqueid, 10.0)
    trace = run(p, 10.0)
    # the refused install is the new SA's inbound half, tried only once all KE rounds were done
    tried = [e for e in kernel.calls if isinstance(e, InstallChildSa)]
    assert tried[0].inbound and tried[0].reqid == 1 and tried[0].spi not in kernel.sas
    followups = [t for t in trace if t[1] == E.IKE_FOLLOWUP_KE]
    assert len(followups) >= 2 * (kes - 1)
    lines = msgs(failer.log)
    assert "unable to install inbound IPsec SA (SAD) in kernel" in lines
    assert "failed to establish CHILD_SA, keeping IKE_SA" in lines
    if failing == "peer":  # the responder answers the last IKE_FOLLOWUP_KE with only the notify
        (response,) = [m for m in lines if m.startswith("generating IKE_FOLLOWUP_KE response") and "N(NO_PROP)" in m]
        assert " KE " not in response
    else:  # the initiator deletes the replacement the peer has installed
        assert any(m.startswith("generating INFORMATIONAL request") and " D " in m for m in lines), lines
    # the IKE_SAs survive (the same ones) and the CHILD_SA is back: one installed pair with equal SPIs
    for node, ike in ((a, ike_a), (b, ike_b)):
        assert [s.state.value for s in node.manager.ike_sas()] == ["ESTABLISHED"]
        assert node.manager.ike_sas()[0] is ike
    node_a = [c for c in ike_a.children if c.state.value == "INSTALLED"]
    node_b = [c for c in ike_b.children if c.state.value == "INSTALLED"]
    assert len(node_a) == len(node_b) == 1, (child_states(a), child_states(b))
    assert (node_a[0].spi_in, node_a[0].spi_out) == (node_b[0].spi_out, node_b[0].spi_in)
    assert node_a[0].outbound_state.value == node_b[0].outbound_state.value == "INSTALLED"
