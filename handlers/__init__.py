"""HTTP edges: parse, authorise, call one service, format the answer."""
