"""FastAPI dependencies as Annotated aliases, so route handlers stay one-liners."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assistant.config import Settings
from assistant.feedback import FeedbackStore
from assistant.service import Assistant, HelpDesk


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def get_helpdesk(request: Request) -> HelpDesk:
    return request.app.state.helpdesk


def get_feedback(request: Request) -> FeedbackStore:
    return request.app.state.feedback


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
HelpDeskDep = Annotated[HelpDesk, Depends(get_helpdesk)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]
