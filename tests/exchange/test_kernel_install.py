"""What the IPsec backend tells the engine: a failed SA install and UDP-only ESP (charon's
kernel features), as the daemon wires them through ``EngineContext.install_sa`` and
``kernel_requires_udp_encap``.

charon on a kernel without ESP ("unable to install inbound and outbound IPsec SA (SAD) in
kernel"): as responder it answers NO_PROPOSAL_CHOSEN in place of the CHILD_SA payloads, as
initiator it deletes the CHILD_SA the peer installed; the IKE_SA stays up either way.
"""

from __future__ import annotations

from tests.exchange.helpers import Node, of, transfer
from vicid.ike.effects import Completed, DeleteChildSa, InstallChildSa, InstallPolicy, Log

INSTALL_FAILED = "unable to install inbound and outbound IPsec SA (SAD) in kernel"


def no_esp(node: Node) -> list[InstallChildSa]:
    """Make NODE's backend refuse every SA (as XFRM does without ESP); returns the attempts."""
    tried: list[InstallChildSa] = []

    def install(effect: InstallChildSa) -> str:
        tried.append(effect)
        return "unable to add SAD entry: Function not implemented"

    node.manager.ctx.install_sa = install
    return tried


def lines(effects) -> list[str]:
    return [e.msg for e in of(effects, Log)]


def establish(p) -> list[list]:
    p.initiate(now=0.0, request_id=7)
    return [transfer(p.carol, p.moon, 0.0), transfer(p.moon, p.carol, 0.1),
            transfer(p.carol, p.moon, 0.2), transfer(p.moon, p.carol, 0.3)]


def test_responder_answers_no_proposal_chosen(pair):
    p = pair()
    tried = no_esp(p.moon)
    _, _, _, auth_resp = establish(p)
    assert [e.inbound for e in tried] == [True, False]  # both directions are tried, as charon does
    moon = lines(auth_resp)
    assert INSTALL_FAILED in moon and "failed to establish CHILD_SA, keeping IKE_SA" in moon
    assert not of(auth_resp, InstallChildSa) and not of(auth_resp, InstallPolicy)
    (response,) = [m for m in moon if m.startswith("generating IKE_AUTH response 1")]
    assert "N(NO_PROP)" in response and " SA " not in response and "TSi" not in response, response
    carol = lines(transfer(p.carol, p.moon, 0.4))
    assert any("received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built" in m for m in carol), carol
    assert p.moon.sa.state.value == p.carol.sa.state.value == "ESTABLISHED"
    assert not p.moon.sa.children and not p.carol.sa.children
    (done,) = [e for e in p.carol.log if isinstance(e, Completed) and e.request_id == 7]
    assert not done.ok


def test_initiator_deletes_the_child_sa_it_could_not_install(pair):
    p = pair()
    tried = no_esp(p.carol)
    establish(p)
    carol = transfer(p.carol, p.moon, 0.4)  # carol processed the IKE_AUTH response
    assert [e.inbound for e in tried] == [True, False]
    assert INSTALL_FAILED in lines(p.carol.log) and "failed to establish CHILD_SA, keeping IKE_SA" in lines(p.carol.log)
    assert any("generating INFORMATIONAL request 2 [ D ]" in m for m in lines(carol)), lines(carol)
    (done,) = [e for e in p.carol.log if isinstance(e, Completed) and e.request_id == 7]
    assert not done.ok
    # moon removes the CHILD_SA it had installed: policies and SAs go
    moon = transfer(p.moon, p.carol, 0.5)
    assert len(of(moon, DeleteChildSa)) == 2
    assert not p.moon.sa.children and not p.carol.sa.children
    assert p.moon.sa.state.value == p.carol.sa.state.value == "ESTABLISHED"


def test_udp_only_backend_fakes_nat(pair):
    p = pair()
    p.carol.manager.ctx.kernel_requires_udp_encap = True
    p.initiate(now=0.0)
    transfer(p.carol, p.moon, 0.0)
    transfer(p.moon, p.carol, 0.1)
    auth_req = transfer(p.carol, p.moon, 0.2)
    assert "faking NAT situation to enforce UDP encapsulation" in lines(auth_req)
    auth_resp = transfer(p.moon, p.carol, 0.3)
    final = p.carol.drain()
    assert all(e.encap for e in of(auth_resp, InstallChildSa) + of(final, InstallChildSa))
    assert len(of(auth_resp, InstallChildSa)) == len(of(final, InstallChildSa)) == 2
