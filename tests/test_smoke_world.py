def test_world_loads_and_1101_answers(platform):
    out = platform.client().ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440301199001011234"}})
    assert out["baseinfo"]["psn_no"] == "44030000000000000001"
