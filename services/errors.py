"""Domain errors. Each carries a machine code and a Chinese message; one middleware maps them."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of every error a user may see: HTTP status, machine code, Chinese message."""

    status = 400
    code = "invalid_request"
    message = "请求有误"

    def __init__(
        self, message: str | None = None, *, code: str | None = None, **details: Any
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidRequest(ServiceError):
    """The request is malformed or breaks a rule."""


class Unprocessable(InvalidRequest):
    """The request has the form the API document gives, but a rule refuses its content (a check
    digit, a date span, a blank text): 422, so that a client can tell the two apart."""

    status = 422


class Unauthorized(ServiceError):
    """The caller did not prove who it is."""

    status = 401
    code = "unauthorized"
    message = "请先登录"


class Forbidden(ServiceError):
    """The caller may not do this."""

    status = 403
    code = "forbidden"
    message = "无权执行该操作"


class NotFound(ServiceError):
    """The thing asked for does not exist, or is not the caller's to see."""

    status = 404
    code = "not_found"
    message = "未找到相关信息"


class Conflict(ServiceError):
    """The request conflicts with what is stored."""

    status = 409
    code = "conflict"
    message = "与现有数据冲突"


class Unavailable(ServiceError):
    """A dependency (database, Redis, WeChat) is not answering."""

    status = 503
    code = "unavailable"
    message = "服务暂时不可用，请稍后再试"
