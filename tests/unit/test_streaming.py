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
