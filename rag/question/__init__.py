"""Reading a question once: what it asks about and whom, and what the index can say of it
(``Question.read``)."""

from rag.question.reading import Question
from rag.question.text import MAX_QUESTION_CHARS, check_question

__all__ = ["MAX_QUESTION_CHARS", "Question", "check_question"]
