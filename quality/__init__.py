"""Served-prediction quality: the scores actually served, judged by the outcomes that came later."""
