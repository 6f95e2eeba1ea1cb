"""Telling the line: every verdict to MQTT, OPC UA, Modbus TCP and webhook sinks, and the PLC
handshake (Trigger → Busy → Result → Ack) over Modbus TCP or OPC UA.

Configured by an outputs file (station.outputs.config; documented in docs/outputs.md). The run
talks to all of it through station.outputs.lineio.LineIO. No Qt here: the window shows the
states the run reports.
"""
