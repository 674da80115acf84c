"""Dead letters: inputs a stage could not use, as values, sent to and read back from one topic.

`rejection` holds the value every stage hands over (`Rejection`); `sink` publishes it as a
`DeadLetter` and never raises; `reading` reads the topic back for `lazarus dlq`.
"""
