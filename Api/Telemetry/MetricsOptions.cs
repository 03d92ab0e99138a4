namespace Glance.Api.Telemetry;

/// <summary>
/// <c>/metrics</c> (<c>Glance:Metrics</c>): Prometheus' text format, outside identity like
/// <c>/healthz</c> by default (a scraper has no token); with <see cref="RequireAdmin"/> it asks for
/// the identity the API asks for (headers or a Keystone token) and answers only admins.
/// </summary>
public sealed class MetricsOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Metrics";

    /// <summary>The path Prometheus scrapes.</summary>
    public const string Path = "/metrics";

    /// <summary>Serve <c>/metrics</c> (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Answer only an admin caller (default false).</summary>
    public bool RequireAdmin { get; set; }
}
