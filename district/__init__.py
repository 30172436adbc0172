"""The district's side of the station logs: an off-site mirror that pulls and verifies a
station's published log (:mod:`district.mirror`) and rebuilds a station data directory from
it (:mod:`district.restore`). See docs/offsite.md."""
