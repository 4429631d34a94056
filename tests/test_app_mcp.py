"""The page as an MCP server: the two tasks are the tools, and a TIFF given by URL reaches them."""

import asyncio
import base64
import json
import shutil
import urllib.request

import pytest

from support import example_crop_paths, running_app

mcp = pytest.importorskip("mcp", reason="the MCP server needs gradio[mcp] (requirements-dev.txt)")
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402


async def call_tool(url: str, name: str, arguments: dict):
    async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        return [tool.name for tool in tools.tools], await session.call_tool(name, arguments)


def test_the_two_tasks_are_the_tools_and_take_a_tiff_by_url(tmp_path):
    crop = example_crop_paths()[1]
    (tmp_path / "files").mkdir()
    shutil.copy(crop, tmp_path / "files" / "crop.tif")
    with running_app(tmp_path, mcp_server=True) as url:
        schema = json.loads(urllib.request.urlopen(url + "gradio_api/mcp/schema").read())
        assert sorted(tool["name"] for tool in schema) == ["register", "superresolve"]  # page internals hidden
        described = {tool["name"]: tool for tool in schema}
        assert "Sentinel-2 B2, B3, B4, B8" in described["register"]["inputSchema"]["properties"]["image"]["description"]
        # a file on the client's machine travels as a data URI (Gradio fetches http(s) URLs only from
        # public addresses: it refuses this test's 127.0.0.1 on purpose, against server-side request forgery)
        tiff = "data:image/tiff;base64," + base64.b64encode((tmp_path / "files" / "crop.tif").read_bytes()).decode()
        names, result = asyncio.run(call_tool(url + "gradio_api/mcp/", "register", {
            "image": tiff, "display": "true", "fringe_band": "NIR",
            "window_x0": 0, "window_y0": 0, "window_size": 0}))
    assert sorted(names) == ["register", "superresolve"]
    assert not result.isError, result.content
    text = " ".join(getattr(part, "text", "") for part in result.content)
    assert "_registered.tif" in text and "_flow.npy" in text, text[:500]


def test_tool_descriptions_are_plain_and_a_bad_url_says_why(tmp_path):
    with running_app(tmp_path, mcp_server=True) as url:
        schema = json.loads(urllib.request.urlopen(url + "gradio_api/mcp/schema").read())
        for tool in schema:
            text = tool["description"] + json.dumps(tool["inputSchema"])
            assert ":func:" not in text and "``" not in text and "below" not in text.lower(), tool["name"]
        _, result = asyncio.run(call_tool(url + "gradio_api/mcp/", "superresolve", {
            "image": "http://127.0.0.1:9/no_such_crop.tif", "display": "true", "upsampling": "bicubic",
            "fringe_band": "B", "window_x0": 0, "window_y0": 0, "window_size": 0}))
    text = " ".join(getattr(part, "text", "") for part in result.content)
    assert result.isError, text
    assert "verbose error reporting" not in text and "127.0.0.1" in text, text  # the reason, e.g. a refused host
