"""Loads libembed and declares the C functions of embed/c_api/embed.h."""

import ctypes
import os
import sys

from .errors import EmbedError, StatusCode

_LIBRARY_NAMES = {
    "darwin": "libembed.dylib",
    "win32": "embed.dll",
}

# void (*embed_event_callback)(void* user_data, const uint8_t* event, size_t event_len)
EVENT_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint8),
                                  ctypes.c_size_t)

_BYTES_OUT = ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8))
_ERROR_OUT = ctypes.POINTER(ctypes.c_void_p)


def library_file_name():
    """The file name of the library on this platform ("libembed.so" on Linux)."""
    return _LIBRARY_NAMES.get(sys.platform, "libembed.so")


def find_library(path=None):
    """The path of libembed: `path`, else $EMBED_LIBRARY, else the file next to this package.

    Falls back to the bare file name, which the dynamic loader looks up in its
    own search path (LD_LIBRARY_PATH, the system's library dirs).
    """
    if path:
        return os.fspath(path)
    env = os.environ.get("EMBED_LIBRARY")
    if env:
        return env
    name = library_file_name()
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, name), os.path.join(os.path.dirname(here), name)):
        if os.path.exists(candidate):
            return candidate
    return name


def _declare(lib):
    lib.embed_version.argtypes = []
    lib.embed_version.restype = ctypes.c_char_p
    lib.embed_open.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_void_p),
                               _ERROR_OUT]
    lib.embed_open.restype = ctypes.c_int
    lib.embed_close.argtypes = [ctypes.c_void_p]
    lib.embed_close.restype = None
    lib.embed_free.argtypes = [ctypes.c_void_p]
    lib.embed_free.restype = None
    lib.embed_call.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, _ERROR_OUT]
    lib.embed_call.restype = ctypes.c_int
    lib.embed_call_sync.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, _BYTES_OUT,
                                    ctypes.POINTER(ctypes.c_size_t), _ERROR_OUT]
    lib.embed_call_sync.restype = ctypes.c_int
    lib.embed_set_event_callback.argtypes = [ctypes.c_void_p, EVENT_CALLBACK, ctypes.c_void_p,
                                             _ERROR_OUT]
    lib.embed_set_event_callback.restype = ctypes.c_int
    lib.embed_poll.argtypes = [ctypes.c_void_p, ctypes.c_int32, _BYTES_OUT,
                               ctypes.POINTER(ctypes.c_size_t), _ERROR_OUT]
    lib.embed_poll.restype = ctypes.c_int
    lib.embed_bytes_free.argtypes = [ctypes.POINTER(ctypes.c_uint8)]
    lib.embed_bytes_free.restype = None
    lib.embed_error_code.argtypes = [ctypes.c_void_p]
    lib.embed_error_code.restype = ctypes.c_int
    lib.embed_error_message.argtypes = [ctypes.c_void_p]
    lib.embed_error_message.restype = ctypes.c_char_p
    lib.embed_error_free.argtypes = [ctypes.c_void_p]
    lib.embed_error_free.restype = None


_loaded = {}


def load(path=None):
    """The ctypes.CDLL of libembed (loaded once per path), with its functions declared."""
    resolved = find_library(path)
    lib = _loaded.get(resolved)
    if lib is None:
        try:
            lib = ctypes.CDLL(resolved)
        except OSError as error:
            raise EmbedError(StatusCode.NOT_FOUND,
                             "cannot load %s (%s); pass library=, set EMBED_LIBRARY or put %s "
                             "next to the embed package" % (resolved, error, library_file_name()))
        _declare(lib)
        _loaded[resolved] = lib
    return lib


def take_error(lib, status, error):
    """An EmbedError from a failed call's status and embed_error_t (which it frees)."""
    message = ""
    if error.value:
        code = lib.embed_error_code(error)
        raw = lib.embed_error_message(error)
        message = raw.decode("utf-8", "replace") if raw else ""
        lib.embed_error_free(error)
        error.value = None
        if code:
            status = code
    return EmbedError(status, message)


def take_bytes(lib, pointer, length):
    """Copies library-owned bytes into a Python bytes object and frees them."""
    try:
        return ctypes.string_at(pointer, length.value) if length.value else b""
    finally:
        lib.embed_bytes_free(pointer)
