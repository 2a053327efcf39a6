"""The event encoding the producer sends, decoded as the consumer and the lab decode it."""

import json

import pandas as pd

from scalelab import datasets
from scalelab.apps import streaming
from scalelab.workloads import compare


def test_events_survive_encoding_and_decoding_with_their_nulls(tmp_path):
    events = pd.read_parquet(datasets.generate("events", rows=5_000, users=50, root=tmp_path).table_path())
    assert events["price"].isna().any() and events["item_id"].isna().any()   # the case that needs care
    pairs = list(streaming.event_messages(events))
    assert [k for k, _ in pairs] == [str(u).encode() for u in events["user_id"]]    # keyed by user, in order
    assert not any(b"NaN" in v for _, v in pairs)                 # a missing value is JSON null, not NaN
    back = streaming.decode_events(pd.DataFrame({"value": [v for _, v in pairs]}))
    compare.compare(back, events[back.columns], compare.Rules(rtol=0))
    first = json.loads(pairs[0][1])
    assert isinstance(first["event_id"], int) and isinstance(first["is_late"], bool)


MALFORMED = [b"{not json", b"null", b"[]", b'"an event"', b"\xff\xfe", b"{}",
             b'{"event_id": "1", "user_id": 1, "session_id": 1, "event_type": "view", "item_id": null, '
             b'"price": null, "event_time_ms": 0, "is_late": false}',                       # a string id
             b'{"event_id": 1, "user_id": true, "session_id": 1, "event_type": "view", "item_id": null, '
             b'"price": null, "event_time_ms": 0, "is_late": false}',                       # a bool for an int
             b'{"event_id": 1, "user_id": 1, "session_id": 1, "event_type": "view", "item_id": null, '
             b'"price": NaN, "event_time_ms": 0, "is_late": false}']


def test_malformed_messages_are_set_apart_with_a_reason_and_the_rest_decoded(tmp_path):
    events = pd.read_parquet(datasets.generate("events", rows=2_000, users=20, root=tmp_path).table_path())
    pairs = list(streaming.event_messages(events))
    values = [v for _, v in pairs]
    mixed = values[:500] + MALFORMED + values[500:]
    messages = pd.DataFrame({"offset": range(len(mixed)), "value": mixed})
    decoded = streaming.split_events(messages)
    compare.compare(decoded.events, events[decoded.events.columns], compare.Rules(rtol=0, ordered=True))
    assert decoded.bad["value"].tolist() == MALFORMED
    assert decoded.bad["offset"].tolist() == list(range(500, 500 + len(MALFORMED)))
    reasons = decoded.bad["reason"].tolist()
    assert reasons[0].startswith("not JSON") and reasons[1] == "not a JSON object but NoneType"
    assert reasons[5] == "no field 'event_id'" and reasons[-1] == "field 'price' is NaN"


def test_decode_events_names_the_first_message_that_is_not_an_event():
    messages = pd.DataFrame({"partition": [0, 0], "offset": [7, 8], "value": [b"null", b"{not json"]})
    import pytest

    with pytest.raises(streaming.StreamError, match=r"2 of 2 messages are not events; the first at partition 0, "
                                                    r"offset 7: not a JSON object"):
        streaming.decode_events(messages)
