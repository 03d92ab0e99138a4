using System.Globalization;

namespace Glance.Cluster.Tests.Support;

/// <summary>Reads Prometheus' text format, as a node's <c>/metrics</c> answers it.</summary>
public static class PrometheusText
{
    /// <summary>The sum of a metric's samples whose labels contain <paramref name="label"/> (all of them when it is empty).</summary>
    public static double Sum(string text, string name, string label = "") =>
        text.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains(label, StringComparison.Ordinal))
            // name{labels} value [timestamp]
            .Sum(l => double.Parse(l[(l.IndexOf("} ", StringComparison.Ordinal) + 2)..].Split(' ')[0], CultureInfo.InvariantCulture));
}
