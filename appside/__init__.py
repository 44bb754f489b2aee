"""Application-side certification: the suite plays Visma Connect (the embedded sandbox, started
with the partner's registration), drives the partner's application through sign-ins, records
every request the application sends and injects faults it must refuse.

Run it with `python -m pytest -c appside/pytest.ini --app=PATH` (`make certify-app APP=PATH`)."""
