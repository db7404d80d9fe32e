"""What a back-fill fetches, decided from C-FIND answers alone (kerma.backfill.selection), and how fast it may go
(kerma.backfill.throttle and the runner's giving way to live instances, their clock pinned).  Pure: the answers are written here as a PACS gives them; the dose
screen conventions are PixelMed's (GE series 999 "Dose Report", Image Type DERIVED\\SECONDARY\\SCREEN SAVE)."""

from pytest import approx

from kerma.backfill.runner import OWN_ARRIVALS_S, BackfillRunner
from kerma.backfill.selection import IMAGE, RDSR, SCREEN, Options, dose_objects, series_wanted, study_wanted
from kerma.backfill.throttle import LAG_WAIT_S, MAX_BACKOFF_S, Throttle, backoff
from kerma.config import BackfillSettings

XRAY_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
GRAYSCALE_PRESENTATION_STATE = "1.2.840.10008.5.1.4.1.1.11.1"
EVERYTHING = Options(header_images=("CT", "DX"))


def test_reports_are_the_sr_instances_that_may_hold_dose_and_key_objects_are_not():
    series = {"Modality": "SR", "SeriesNumber": "997"}
    instances = [{"SOPInstanceUID": "1", "SOPClassUID": XRAY_DOSE_SR}, {"SOPInstanceUID": "2", "SOPClassUID": ENHANCED_SR},
                 {"SOPInstanceUID": "3", "SOPClassUID": KEY_OBJECT_SELECTION}]
    assert series_wanted(series, Options(dose_screens=False))
    assert dose_objects(series, instances, EVERYTHING) == [("1", RDSR), ("2", RDSR)]
    # a PACS that does not answer the SOP class at instance level: every instance of the SR series
    assert dose_objects(series, [{"SOPInstanceUID": "4"}, {"SOPInstanceUID": "5"}], EVERYTHING) == [("4", RDSR), ("5", RDSR)]
    assert dose_objects(series, instances, Options(rdsr=False)) == []
    assert not series_wanted(series, Options(rdsr=False, dose_screens=False))


def test_a_dose_screen_is_told_from_a_scanned_form_by_the_screen_conventions():
    screens = {"Modality": "CT", "SeriesNumber": "999", "SeriesDescription": "Dose Report"}
    screen = {"SOPInstanceUID": "10", "SOPClassUID": SECONDARY_CAPTURE, "ImageType": "DERIVED\\SECONDARY\\SCREEN SAVE"}
    assert series_wanted(screens, Options(rdsr=False))
    assert dose_objects(screens, [screen], EVERYTHING) == [("10", SCREEN)]
    # the PACS answers neither SOP class nor Image Type: judged as a Secondary Capture DERIVED\SECONDARY (no loss)
    assert dose_objects(screens, [{"SOPInstanceUID": "11"}], EVERYTHING) == [("11", SCREEN)]
    form = {"Modality": "OT", "SeriesNumber": "2", "SeriesDescription": "Scanned request form"}
    scanned = {"SOPInstanceUID": "12", "SOPClassUID": SECONDARY_CAPTURE, "ImageType": "DERIVED\\SECONDARY",
               "BurnedInAnnotation": "YES"}
    assert series_wanted(form, EVERYTHING)  # listed (SC/OT may hold screens) ...
    assert dose_objects(form, [scanned], EVERYTHING) == []  # ... but secondary + burned-in text alone is no screen
    assert not series_wanted({"Modality": "CT", "SeriesNumber": "3", "SeriesDescription": "Abdomen"}, Options())


def test_one_header_image_per_series_the_lowest_instance_number():
    ct = {"Modality": "CT", "SeriesNumber": "3", "SeriesDescription": "Abdomen"}
    slices = [{"SOPInstanceUID": uid, "SOPClassUID": CT_IMAGE, "ImageType": "ORIGINAL\\PRIMARY\\AXIAL",
               "InstanceNumber": number}
              for uid, number in (("a", "12"), ("b", "2"), ("c", "10"), ("d", ""))]
    state = {"SOPInstanceUID": "p", "SOPClassUID": GRAYSCALE_PRESENTATION_STATE, "InstanceNumber": "1"}
    assert series_wanted(ct, EVERYTHING) and not series_wanted(ct, Options())
    assert dose_objects(ct, slices + [state], EVERYTHING) == [("b", IMAGE)]  # 2 < 10 < 12 as numbers, not text
    assert dose_objects(ct, slices, Options(header_images=("DX",))) == []
    # a screen saved as a CT image among them is the series' dose object: no header image besides
    screen = {"SOPInstanceUID": "s", "SOPClassUID": CT_IMAGE, "ImageType": "DERIVED\\SECONDARY\\SCREEN SAVE",
              "InstanceNumber": "1"}
    assert dose_objects(ct, slices + [screen], EVERYTHING) == [("s", SCREEN)]


def test_studies_are_kept_by_their_modalities_when_asked_and_when_the_pacs_does_not_say():
    assert study_wanted({"ModalitiesInStudy": "CT\\SR"}, Options(modalities=("CT",)))
    assert not study_wanted({"ModalitiesInStudy": "MR"}, Options(modalities=("CT",)))
    assert study_wanted({"ModalitiesInStudy": ""}, Options(modalities=("CT",)))
    assert study_wanted({"ModalitiesInStudy": "MR"}, Options())
    assert Options.from_json(EVERYTHING.to_json()) == EVERYTHING


def test_the_throttle_spaces_operations_by_the_rates_and_waits_while_the_ingest_lags():
    now = [100.0]
    throttle = Throttle(queries_per_second=5, instances_per_second=10, max_lag=100, monotonic=lambda: now[0])
    assert throttle.delay(lag=0) == 0
    throttle.queried()
    assert throttle.delay(lag=0) == approx(0.2)
    throttle.retrieved(20)  # after the query's 0.2 s: 2 s more
    assert throttle.delay(lag=0) == approx(2.2)
    now[0] += 1.0
    assert throttle.delay(lag=None) == approx(1.2)  # lag unknown: the rates alone
    assert throttle.delay(lag=101) == LAG_WAIT_S and throttle.delay(lag=100) != LAG_WAIT_S
    now[0] += 10.0  # idle time is not saved up for a burst
    throttle.queried()
    assert throttle.delay(lag=0) == approx(0.2)


def test_the_throttle_gives_way_to_live_objects_for_the_quiet_time():
    now = [0.0]
    throttle = Throttle(queries_per_second=1000, instances_per_second=1000, max_lag=100, quiet_seconds=2.0,
                        monotonic=lambda: now[0])
    assert throttle.delay(lag=0) == 0
    throttle.live()
    assert throttle.delay(lag=0) == approx(2.0)
    now[0] += 1.5
    assert throttle.delay(lag=0) == approx(0.5)
    throttle.live()  # another live object: the quiet time starts again
    assert throttle.delay(lag=0) == approx(2.0)
    now[0] += 2.0
    assert throttle.delay(lag=0) == 0
    eager = Throttle(1000, 1000, 100, quiet_seconds=0.0, monotonic=lambda: now[0])
    eager.live()
    assert eager.delay(lag=0) == 0


def test_back_off_doubles_up_to_five_minutes():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff(30) == MAX_BACKOFF_S == 300


def test_the_runner_gives_way_to_instances_beyond_those_its_retrieves_asked_for():
    now = [50.0]
    runner = BackfillRunner(sessions=None, remote=None, settings=BackfillSettings(quiet_seconds=2.0), lag=lambda: 0,
                            monotonic=lambda: now[0])
    assert runner.throttle.delay(lag=0) == 0
    runner.arrived()  # no retrieve of the job: a modality is storing
    assert runner.throttle.delay(lag=0) == approx(2.0)
    now[0] += 2.0
    runner._expect(2)  # a retrieve of two instances; Orthanc tells of them, one a moment after the retrieve
    runner.arrived()
    runner._own_until = now[0] + OWN_ARRIVALS_S
    now[0] += 0.5
    runner.arrived()
    assert runner.throttle.delay(lag=0) == 0
    runner.arrived()  # a third: not the job's
    assert runner.throttle.delay(lag=0) == approx(2.0)
    now[0] += 2.0
    runner._expect(3)  # the next retrieve brings one of its three (the others were not sent) ...
    runner.arrived()
    runner._own_until = now[0] + OWN_ARRIVALS_S
    now[0] += OWN_ARRIVALS_S + 0.1
    runner._expect(1)  # ... and what it did not bring does not hide live instances for long
    runner.arrived()
    runner.arrived()
    assert runner.throttle.delay(lag=0) == approx(2.0)
