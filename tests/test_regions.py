import pytest

from genorrn.errors import InputError
from genorrn.regions import Region, check_region, parse_region


def test_samtools_style_is_one_based_inclusive():
    assert parse_region("chr1:1-100") == Region("chr1", 0, 100)
    assert parse_region("chr1:1,001-2,000") == Region("chr1", 1000, 2000)
    assert parse_region("chr1") == Region("chr1", 0, None)
    assert str(Region("chr1", 1000, 2000)) == "chr1:1001-2000"


@pytest.mark.parametrize("bad", ["chr1:0-10", "chr1:10-5", "chr1:a-b", ""])
def test_bad_region_strings(bad):
    with pytest.raises(InputError, match="region"):
        parse_region(bad)


def test_region_outside_sequence():
    with pytest.raises(InputError, match="outside the sequence 'chr1' \\(length 50\\)"):
        check_region(parse_region("chr1:40-60"), {"chr1": 50}, "g.fa")
    with pytest.raises(InputError, match=r"no record named 'chr2' \(records: 'chr1'\)"):
        check_region(parse_region("chr2"), {"chr1": 50}, "g.fa")
    assert check_region(parse_region("chr1:41"), {"chr1": 50}, "g.fa") == Region("chr1", 40, 50)


def test_overlaps_with_open_ends():
    from genorrn.regions import parse_region

    validation, test = parse_region("chr1:20000001-23000000"), parse_region("chr1:23000001")
    assert not validation.overlaps(test) and not test.overlaps(validation)  # half-open: touching
    assert parse_region("chr1:22000001-24000000").overlaps(test)
    assert parse_region("chr1").overlaps(validation)  # whole sequence
    assert not parse_region("chr2:1-30000000").overlaps(validation)
