using System.Diagnostics;

namespace Glance.Bench;

/// <summary>The timing both catalog benches use: five warm-up calls, then the median and 99th percentile of <c>rounds</c> calls.</summary>
internal static class Latency
{
    public static async Task<(double P50, double P99)> TimeAsync<T>(Func<Task<T>> run, int rounds = 200)
    {
        for (var i = 0; i < 5; i++)
        {
            await run();
        }
        var samples = new double[rounds];
        for (var i = 0; i < rounds; i++)
        {
            var clock = Stopwatch.StartNew();
            await run();
            samples[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(samples);
        return (samples[rounds / 2], samples[Math.Min(rounds - 1, rounds * 99 / 100)]);
    }
}
