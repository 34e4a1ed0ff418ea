"""The errors a user can see. Each message says what is wrong and what to do next.

    QAError                 anything the product reports to a user instead of a traceback
     ├── ConfigError        a setting is malformed
     ├── CorpusError        the articles folder is missing or has nothing to index
     ├── StoreError         the store is missing, corrupt, built with other settings, or busy
     │    ├── IndexMissing  no index yet: run `qa index`
     │    ├── IndexMismatch built with another model or chunking: re-index
     │    └── IndexBusy     another `qa index` holds the writer lock
     ├── QuestionError      the question cannot be asked (empty, too long)
     ├── UploadError        an uploaded file cannot become an article (type, size, content)
     └── LLMError           the LLM endpoint failed; the engine falls back to offline answers
          └── LLMSkipped    it failed moments ago: not asked again until a set time

Only the CLI and the UI turn these into text for people.
"""


class QAError(Exception):
    """An error with a message meant for the user."""


class ConfigError(QAError):
    """A setting is malformed."""


class CorpusError(QAError):
    """The articles folder is missing or holds nothing to index."""


class StoreError(QAError):
    """The store cannot be used as it is."""


class IndexMissing(StoreError):
    """No index has been built for these articles yet."""


class IndexMismatch(StoreError):
    """The store was built with another embedding model or chunking."""


class IndexBusy(StoreError):
    """Another process is writing the index."""


class QuestionError(QAError):
    """The question cannot be asked as it is."""


class UploadError(QAError):
    """An uploaded file cannot be added to the articles."""


class LLMError(QAError):
    """The LLM endpoint failed (key, rate limit, timeout, connection, malformed reply)."""


class LLMSkipped(LLMError):
    """The LLM failed moments ago (a timeout, an unreachable server), so no request was sent."""
