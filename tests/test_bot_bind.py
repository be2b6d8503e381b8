"""The bind dialog: USCC, the enterprise's name, the legal representative's name and ID number;
or an agent's authorisation code. The rules are those of services.accounts.bindings (lockout,
hashed IDs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.dialogs import bind as bind_dialog
from config.settings import Settings
from models.audit import AuditEntry
from models.enums import BindingRole
from models.user import Binding, User
from services.accounts import bindings
from tests.bot_support import (
    ID_NUMBER,
    LEGAL_REP,
    NAME,
    USCC,
    Chat,
    make_enterprise,
    turn,
    valid_uscc,
)

WRONG_ID = "110105194912310029"


@pytest.fixture(autouse=True)
def binding_keys(settings: Settings) -> None:
    bindings.configure(settings)


async def _at_legal_name(chat: Chat) -> None:
    await chat.say("绑定")
    await chat.say(USCC)
    await chat.say("是")


async def _at_id_number(chat: Chat) -> None:
    await _at_legal_name(chat)
    await chat.say(LEGAL_REP)


async def test_the_legal_representative_binds_step_by_step(
    db: str, redis: Redis, settings: Settings
) -> None:
    enterprise = await make_enterprise()
    chat = Chat(redis, settings)
    [ask] = await chat.say("绑定")
    assert "统一社会信用代码" in ask and "授权码" in ask
    [reply] = await chat.say(USCC.lower())
    assert reply.startswith(f"企业名称：{NAME}\n")
    [reply] = await chat.say("是")
    assert reply == bind_dialog.ASK_NAME
    [reply] = await chat.say(LEGAL_REP)
    assert reply == bind_dialog.ASK_ID
    [reply] = await chat.say(ID_NUMBER.lower())
    assert reply.startswith(f"绑定成功：您已作为法定代表人绑定“{NAME}”")
    binding = await Binding.get(user=await chat.user())
    assert (binding.enterprise_id, binding.role) == (
        enterprise.id,
        BindingRole.LEGAL_REPRESENTATIVE,
    )
    assert not (await chat.state()).active


async def test_the_id_number_is_never_kept_in_redis(
    db: str, redis: Redis, settings: Settings
) -> None:
    await make_enterprise()
    chat = Chat(redis, settings)
    await _at_id_number(chat)
    await chat.say(WRONG_ID)  # a failure keeps the dialog going
    await chat.say(LEGAL_REP)
    await chat.say(ID_NUMBER)
    for key in await redis.keys("*"):
        value = await redis.dump(key)
        assert value is not None
        assert ID_NUMBER.encode() not in value and WRONG_ID.encode() not in value, key


async def test_an_invalid_uscc_is_refused_and_asked_again(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    await chat.say("绑定")
    [reply] = await chat.say(USCC[:-1] + ("0" if USCC[-1] != "0" else "1"))
    assert reply.startswith("统一社会信用代码无效")
    assert (await chat.state()).step == "uscc"


async def test_an_unknown_enterprise_is_refused_and_asked_again(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    await chat.say("绑定")
    [reply] = await chat.say(valid_uscc("91500105MA5U8K3Q1"))
    assert reply.startswith("未找到该统一社会信用代码对应的企业")
    assert (await chat.state()).step == "uscc"


async def test_no_to_the_enterprise_name_asks_for_the_uscc_again(
    db: str, redis: Redis, settings: Settings
) -> None:
    await make_enterprise()
    chat = Chat(redis, settings)
    await chat.say("绑定")
    await chat.say(USCC)
    [reply] = await chat.say("否")
    assert reply == bind_dialog.ASK_USCC
    assert (await chat.state()).step == "uscc"


async def test_a_wrong_id_number_says_how_many_tries_are_left_and_asks_again(
    db: str, redis: Redis, settings: Settings
) -> None:
    await make_enterprise()
    chat = Chat(redis, settings)
    await _at_id_number(chat)
    [reply] = await chat.say(WRONG_ID)
    assert "核验未通过" in reply and "再错 4 次" in reply and reply.endswith(bind_dialog.ASK_NAME)
    assert (await chat.state()).step == "legal_name"
    assert not await Binding.exists()


async def test_five_wrong_tries_lock_binding_and_end_the_dialog(
    db: str, redis: Redis, settings: Settings
) -> None:
    await make_enterprise()
    chat = Chat(redis, settings)
    await _at_id_number(chat)
    for _ in range(4):
        await chat.say(WRONG_ID)
        await chat.say(LEGAL_REP)
    [reply] = await chat.say(WRONG_ID)
    assert "锁定" in reply
    assert not (await chat.state()).active
    await _at_id_number(chat)  # even the right number is refused while locked
    [reply] = await chat.say(ID_NUMBER)
    assert "锁定" in reply
    assert not await Binding.exists()


async def test_a_wrong_legal_representative_name_fails_like_a_wrong_id(
    db: str, redis: Redis, settings: Settings
) -> None:
    await make_enterprise()
    chat = Chat(redis, settings)
    await _at_legal_name(chat)
    await chat.say("李四")
    [reply] = await chat.say(ID_NUMBER)
    assert "核验未通过" in reply
    assert not await Binding.exists()


async def test_a_name_that_is_no_name_is_asked_again(
    db: str, redis: Redis, settings: Settings
) -> None:
    await make_enterprise()
    chat = Chat(redis, settings)
    await _at_legal_name(chat)
    [reply] = await chat.say("12345")
    assert reply.startswith("姓名格式有误")
    assert (await chat.state()).step == "legal_name"


async def test_an_agent_binds_with_the_code_the_legal_representative_made(
    db: str, redis: Redis, settings: Settings
) -> None:
    enterprise = await make_enterprise()
    legal = await User.create(mp_openid="mp-legal")
    await Binding.create(user=legal, enterprise=enterprise, role=BindingRole.LEGAL_REPRESENTATIVE,
                         scopes=["reports", "objections"])  # fmt: skip
    _, code = await bindings.create_agent_invite(
        redis, legal.id, enterprise.id, "王五", "13800138000", ["reports"],
        datetime.now(UTC) + timedelta(days=30),
    )  # fmt: skip
    chat = Chat(redis, settings, openid="o-agent")
    await chat.say("绑定")
    [reply] = await chat.say(f"{code[:4]} {code[4:8]}-{code[8:].lower()}")
    assert reply.startswith(f"绑定成功：您已作为经办人绑定“{NAME}”")
    binding = await Binding.get(user=await chat.user())
    assert binding.role == BindingRole.AGENT and binding.scopes == ["reports"]
    audit = await AuditEntry.get(action="agent.redeemed")
    assert (audit.object_id, audit.detail["channel"]) == (str(binding.id), "bot")
    assert not (await chat.state()).active


async def test_a_wrong_agent_code_is_refused_and_counted(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    await chat.say("绑定")
    [reply] = await chat.say("ABCDEFGHJKLM")
    assert reply.startswith("授权码无效") and "再错 4 次" in reply
    assert (await chat.state()).step == "uscc"


@pytest.mark.parametrize("text", ["abc", "我要绑定公司", "ABCD-EFGH"])
async def test_text_that_is_neither_a_uscc_nor_a_code_is_asked_again_without_counting(
    db: str, redis: Redis, settings: Settings, text: str
) -> None:
    chat = Chat(redis, settings)
    await chat.say("绑定")
    [reply] = await chat.say(text)
    assert reply == f"没有看懂。{bind_dialog.ASK_USCC}"
    assert not await AuditEntry.filter(action="binding.failed").exists()


async def test_binding_an_enterprise_already_bound_is_not_repeated(
    db: str, redis: Redis, settings: Settings
) -> None:
    chat = Chat(redis, settings)
    await chat.event("subscribe")
    await Binding.create(user=await chat.user(), enterprise=await make_enterprise(),
                         role=BindingRole.LEGAL_REPRESENTATIVE, scopes=[])  # fmt: skip
    [ask] = await chat.say("绑定")
    assert ask.startswith(f"您已绑定：{NAME}。")
    [reply] = await chat.say(USCC)
    assert reply == f"您已绑定“{NAME}”，无需重复绑定。"


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
async def test_cancel_at_each_step_binds_nothing(
    db: str, redis: Redis, settings: Settings, steps: int
) -> None:
    await make_enterprise()
    chat = Chat(redis, settings)
    await chat.say("绑定")
    for answer in [USCC, "是", LEGAL_REP][:steps]:
        await chat.say(answer)
    [reply] = await chat.say("取消")
    assert reply.startswith("已取消“绑定企业”")
    await chat.say(ID_NUMBER)
    assert not await Binding.exists()


async def test_a_replayed_id_number_message_binds_once(
    db: str, redis: Redis, settings: Settings
) -> None:
    await make_enterprise()
    chat = Chat(redis, settings)
    await _at_id_number(chat)
    state, user = await chat.state(), await chat.user()
    message = turn(chat, ID_NUMBER, user)
    first = await bind_dialog.ask_id_number(state, message)
    again = await bind_dialog.ask_id_number(state, message)
    assert first == again
    assert await AuditEntry.filter(action="binding.created").count() == 1
