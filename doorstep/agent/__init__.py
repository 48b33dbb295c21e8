"""The camera agent: turns a video source into Doorstep events, clips and notifications.

The pipeline is single-threaded where it touches video (decode, motion, clip cutting)
and hands uploads and slow notifications to background threads, so that a slow hub or
webhook never delays detection. See docs/agent.md.
"""
