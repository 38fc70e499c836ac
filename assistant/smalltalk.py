"""Replies to what is not a question about the documents: a greeting, thanks, "who are you", goodbye.

Visitors of a portal's chat widget start with 你好 and end with 谢谢. Searching the documents for
those finds nothing, and a refusal that lists the "closest documents" and sends the visitor to a
department reads as a fault. Only a whole message of small talk is answered here: "你好，公租房怎么
申请" is a question, and goes to the documents.

Example::

    reply = smalltalk_reply("你好！", ["广州市公共租赁住房管理办法"])
    reply.startswith("您好！我是政策问答助手")            # True
    smalltalk_reply("你好，公租房怎么申请", [])            # None
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .answer import book_title

# Said around the words without changing them: punctuation, spaces, 呀/啊/哈 and the like at the end.
_NOISE = re.compile(r"[\s,，.。!！?？~～、…:：;；'\"“”‘’()（）\[\]【】^_\-—]+")
_TRAILING = re.compile(r"(?:呀|啊|哈+|呢|哦|喔|嘛|啦|吧)+$")

_GREETING = re.compile(r"^(?:你好|您好|你好吗|您好吗|你们好|大家好|嗨|哈喽|嘿|hello|hi|hey|在吗|在不在|有人吗|"
                       r"早|早上好|上午好|中午好|下午好|晚上好|小助手|助手|(?:你好|您好)?政策问答助手)$")
_IDENTITY = re.compile(r"^(?:你|您)?(?:是谁|是什么|叫什么|叫什么名字|是机器人吗|是真人吗|是人工智能吗|"
                       r"能做什么|能干什么|会什么|会做什么|可以做什么|可以干什么|有什么用|有什么功能|"
                       r"能回答什么问题|能回答哪些问题|可以回答什么问题|可以问什么|能问什么|能查什么|怎么用|"
                       r"如何使用|怎么使用|能帮我什么)$")
_THANKS = re.compile(r"^(?:好的|好|嗯|ok|okay)?(?:谢谢|谢谢你|谢谢您|谢啦|多谢|感谢|非常感谢|十分感谢|辛苦了|"
                     r"thanks|thankyou|thx)(?:你|您|啦)?(?:的)?(?:耐心)?(?:解答|回答|帮助|帮忙)?$")
_GOODBYE = re.compile(r"^(?:好的|好|嗯|ok)?(?:再见|拜拜|bye|byebye|goodbye|回头见)$")

THANKS_REPLY = "不客气！还有其他政策问题，欢迎继续提问。"
GOODBYE_REPLY = "再见！有政策问题欢迎随时来问。"


def _introduction(titles: Sequence[str]) -> str:
    text = "您好！我是政策问答助手，根据知识库中的政策文件回答问题，每句回答都注明出自哪份文件的哪一条，方便您核对原文。"
    if titles:
        shown = "、".join(book_title(t) for t in titles[:3])
        more = "等" if len(titles) > 3 else ""
        text += f"知识库现有{len(titles)}份文件，如{shown}{more}。"
    return text + "您可以直接提问，例如“……的申请条件是什么？”“……补贴标准是多少？”“……要提交哪些材料？”"


def smalltalk_reply(message: str, titles: Sequence[str]) -> str | None:
    """The reply to ``message`` when the whole of it is small talk, else None.

    ``titles`` are the knowledge base's document titles, newest first: an introduction names a few,
    so that a visitor learns what can be asked here.
    """
    words = _NOISE.sub("", message).lower()
    words = _TRAILING.sub("", words) or words
    if len(words) > 16:  # a greeting this long has a question in it
        return None
    if _THANKS.match(words):
        return THANKS_REPLY
    if _GOODBYE.match(words):
        return GOODBYE_REPLY
    if _GREETING.match(words) or _IDENTITY.match(words):
        return _introduction(titles)
    return None
