"""A real HTTP server for the API tests: a small Chinese corpus, its BM25 index, uvicorn in a thread.

Example::

    settings = build_index(tmp_path, admin_token="t")
    with LiveServer(create_api(AssistantService(settings))) as server:
        httpx.get(server.url + "/healthz")
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from conftest import settings_for

from assistant.config import Settings
from assistant.ingest import Ingestor

CORPUS = {
    "bj-compute-voucher.md": """---
title: "北京市算力券管理办法（试行）"
issuer: "北京市经济和信息化局"
doc_number: "京经信发〔2024〕12号"
date: "2024-03-01"
region: "北京市"
kind: "办法"
---

第一章 总则

第一条 为降低人工智能企业使用算力的成本，推动算力资源高效利用，制定本办法。

第二条 本办法所称算力券，是指市经济和信息化局向符合条件的企业发放、用于购买智能算力服务的电子凭证。

第二章 申请与发放

第三条 申请算力券的企业应当在本市注册，具有独立法人资格，近两年无重大违法记录，并从事人工智能模型研发或应用。

第四条 算力券按企业实际算力采购金额的30%给予补贴，单个企业每年最高不超过500万元。

第五条 企业申请算力券应当提交申请表、营业执照、算力采购合同和发票等材料，市经济和信息化局自受理之日起20个工作日内完成审核。
""",
    "sh-waste.md": """---
title: "上海市生活垃圾分类实施办法"
issuer: "上海市绿化和市容管理局"
doc_number: "沪绿容规〔2019〕3号"
date: "2019-07-01"
region: "上海市"
kind: "办法"
---

第一条 为了加强本市生活垃圾管理，改善城乡环境，制定本办法。

第二条 本市生活垃圾按照可回收物、有害垃圾、湿垃圾、干垃圾四类进行分类。

第三条 违反规定混合投放生活垃圾的个人，由城管执法部门责令改正；拒不改正的，处五十元以上二百元以下罚款。
""",
    "gz-rental-2016.md": """---
title: "广州市公共租赁住房保障办法"
issuer: "广州市人民政府"
doc_number: "穗府办规〔2016〕9号"
date: "2016-05-01"
expiry_date: "2021-04-30"
region: "广州市"
kind: "办法"
---

第一条 为完善本市住房保障体系，规范公共租赁住房管理，制定本办法。

第二条 申请公共租赁住房的家庭，人均住房建筑面积应当低于15平方米，家庭人均可支配收入应当低于规定标准。

第三条 公共租赁住房租金按照同区域市场租金的60%确定。
""",
    # Markup in a document must reach a browser as text, never as HTML; a title that quotes another
    # (关于印发《…》的通知) is shown with the inner marks as 〈〉.
    "web-security.md": """---
title: "关于印发《网站页面安全管理规定》的通知"
issuer: "某市政务服务数据管理局"
doc_number: "某政数发〔2024〕7号"
date: "2024-06-01"
region: "某市"
kind: "规定"
---

第一条 为加强政府网站页面安全管理，防范跨站脚本攻击，制定本规定。

第二条 网站页面严禁直接输出用户提交的脚本标签和带有事件属性的图片标签，例如 <script>alert(2)</script> 和 <img src=x onerror="alert(1)"> 必须转义后作为纯文本显示。

第三条 网站主办单位应当每年开展一次页面安全检查。
""",
}

# A document the tests upload later: answers cite it only once it is indexed.
NEW_TITLE = "深圳市新能源汽车充电设施补贴办法"
NEW_DOCUMENT = """---
title: "深圳市新能源汽车充电设施补贴办法"
issuer: "深圳市发展和改革委员会"
doc_number: "深发改规〔2024〕5号"
date: "2024-01-01"
region: "深圳市"
kind: "办法"
---

第一条 对新建公共充电桩按每千瓦300元给予一次性建设补贴。
"""
NEW_QUESTION = "深圳新建公共充电桩每千瓦补贴多少钱？"


def cites_new_document(answer: dict[str, Any]) -> bool:
    return any(c["title"] == NEW_TITLE for c in answer["citations"])


def build_index(tmp_path: Path, **overrides: Any) -> Settings:
    """Write the corpus to ``tmp_path/corpus``, index it (BM25 only), return the settings."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, text in CORPUS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    overrides.setdefault("corpus_dir", corpus)
    settings = settings_for(tmp_path, **overrides)
    Ingestor(settings, progress=False, workers=1).run([settings.corpus_dir])
    return settings


class LiveServer:
    """Serve an ASGI app on 127.0.0.1 (a free port) from a background thread, for a ``with`` block."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> LiveServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=2, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None and self.thread is not None
        self.server.should_exit = True
        self.thread.join(10)
