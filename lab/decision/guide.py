"""The guide's words, quoted faithfully, for the Decide page and the brief.

Source: "RAG vs Fine-Tuning: When to Use Each and How to Decide" (the guide this lab grows from,
`seed/rag-vs-fine-tuning-guide.txt`). Everything here is the guide's claim, not a measurement: the
lab's job is to let a user check these claims on their own data (`lab.decision.decide.measured_claims`).
"""

from __future__ import annotations

ATTRIBUTION = "From the guide \u201cRAG vs Fine-Tuning: When to Use Each and How to Decide\u201d."

# The Decision Framework, branch by branch, in the guide's words.
FRAMEWORK_QUESTION = "Does your application need access to external, private, or frequently changing data?"
FRAMEWORK = (
    ("YES", "Use RAG",
     "Docs chatbot, customer support, product Q&A, compliance search, knowledge base"),
    ("YES", "Also need specific output format?", "Add fine-tuning on top \u2192 Hybrid"),
    ("NO", "Does it need specific behaviour?", "Specific format/tone/domain? \u2192 Fine-tune"),
    ("NO", "Does it need specific behaviour?", "General improvement? \u2192 Prompt engineer first"),
    ("NO", "Does it need specific behaviour?", "Both knowledge + behaviour? \u2192 Hybrid"),
)

# Quick Reference: (your situation, use this).
QUICK_REFERENCE = (
    ("Large document corpus users need to query", "RAG"),
    ("Documents update frequently (daily / weekly)", "RAG"),
    ("Users need to see which source was used", "RAG"),
    ("Model must always output valid JSON / XML", "Fine-tune"),
    ("Model needs a specific brand tone", "Fine-tune"),
    ("Sub-100ms inference at high volume", "Fine-tune a smaller model"),
    ("Accurate facts AND consistent output format", "Hybrid (both)"),
    ("You\u2019re not sure where the problem is", "Prompt engineer first"),
    ("Real-time or private data access needed", "RAG"),
    ("Stable domain knowledge, no doc updates", "Fine-tune"),
)

# Head-to-Head Comparison rows about time, latency and money: (dimension, RAG, fine-tuning).
COST_ROWS = (
    ("Time to first result", "Hours (build index)", "Days\u2013weeks"),
    ("Inference latency", "+50\u2013200ms retrieval overhead", "Lower (no retrieval)"),
    ("Typical cost", "$0.01\u2013$0.10 / query", "$500\u2013$50k training + serving"),
)

# Bottom Line, one line per approach.
BOTTOM_LINE = {
    "rag": "Want the model to KNOW something new? Use RAG. Update the index, not the model.",
    "fine-tune": "Want the model to DO something differently? Fine-tune. Update the weights, not the prompt.",
    "hybrid": "Need both knowledge AND behaviour? Hybrid. Fine-tune for behaviour, RAG for knowledge.",
    "prompt": "Not sure which you need? Prompt engineer first. It solves more than you expect.",
}

# Claims the lab can test, each in the guide's words.
QUOTES = {
    "rag_knowledge": "RAG \u2014 gives the model new knowledge at runtime.",
    "hybrid_rag": "Hybrid RAG \u2713 Dense + BM25 + RRF. Production standard. Outperforms naive consistently.",
    "finetune_behaviour": "Fine-tuning \u2014 changes how the model responds. Best for format, tone, or domain "
                          "behaviour.",
    "finetune_knowledge": "Fine-tuned models hallucinate fine-tuned knowledge confidently \u2014 they can\u2019t "
                          "reliably recall specific training data. Fix: Use RAG for knowledge. Use fine-tuning "
                          "only for behaviour.",
    "hybrid": "Hybrid \u2014 use both together. RAG for what it knows, fine-tuning for how it writes.",
    "latency": "Inference latency: RAG +50\u2013200ms retrieval overhead; Fine-Tuning Lower (no retrieval).",
    "prompt_first": "Prompt engineer first. Fine-tune only when prompts demonstrably fail on a test set.",
    "golden_set": "Create 50\u2013100 golden Q&A pairs before you start. Measure baseline. Measure after.",
    "high_volume": "High-volume cost savings \u2014 10M+ calls per month \u2014 Smaller model far cheaper \u2014 "
                   "No vector DB query cost",
    "agentic_rag": "Agentic RAG \u2014 Agent decides when and what to retrieve. Multi-step research tasks.",
    "citations": "Citations required \u2014 Legal, medical, compliance \u2014 Must quote sources",
}
