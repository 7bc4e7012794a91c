"""The report's codebook appendix and questionnaire changes, from the forms that judged the waves."""

from schemas import questionnaire as questionnaires
from schemas.questionnaire import Questionnaire

LANGUAGE_NAMES = {"de": "German", "vi": "Vietnamese", "fr": "French"}


def codebook(questionnaire: Questionnaire) -> dict:
    """Appendix C: each question with its type, English label, choices and rules in words."""
    others = sorted({language for q in questionnaire.questions for language in q.labels} - {"en"})
    named = [LANGUAGE_NAMES.get(language, language) for language in others]
    return {
        "form": questionnaire.name,
        "version": questionnaire.version,
        "title": questionnaire.title,
        "languages": " and ".join([", ".join(named[:-1]), named[-1]]) if len(named) > 1 else "".join(named),
        "questions": [
            {"name": q.name, "kind": q.kind.replace("_", " "), "label": q.label, "rule": questionnaires.rule_of(q),
             "choices": [(code, q.choice_label(code)) for code in q.codes]}
            for q in questionnaire.questions
        ],
    }
