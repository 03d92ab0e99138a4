using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Glance.Grains.Recovery;

/// <summary>
/// Tags every grain-state blob the azure profile's silos write with the time of the write, to the second (blob
/// index tags, set by the same Put Blob request, so a state and its tag never disagree): the key is
/// the state's kind (the blob name's first segment, e.g. <c>image-glance.image</c>), the value
/// <see cref="Stamp"/>. The repair's incremental pass then finds the states written since a time
/// with one tag query per kind instead of listing every state (<see cref="ClusterRepairGrain"/>).
/// Orleans' blob grain storage writes through this client; the policy only adds the header.
/// </summary>
public sealed class StateWriteTags(string container, TimeProvider clock) : HttpPipelineSynchronousPolicy
{
    /// <summary>A time as the tags hold it: UTC seconds, fixed width, so string order is time order.</summary>
    public static string Stamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    /// <summary>The tag query for the states of <paramref name="kind"/> written in or after the second of <paramref name="since"/>.</summary>
    public static string WrittenSince(string kind, DateTimeOffset since) => $"\"{kind}\" >= '{Stamp(since)}'";

    /// <inheritdoc />
    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        // Put Blob (no comp) or Put Block List: a state's content. Not the container's own calls
        // (restype=container), nor metadata, tags or leases.
        if (request.Method != RequestMethod.Put || Kind(request.Uri.Path) is not { } kind)
        {
            return;
        }
        var query = request.Uri.Query;
        if (query.Contains("restype=", StringComparison.Ordinal)
            || (query.Contains("comp=", StringComparison.Ordinal) && !query.Contains("comp=blocklist", StringComparison.Ordinal)))
        {
            return;
        }
        request.Headers.SetValue("x-ms-tags", $"{Uri.EscapeDataString(kind)}={Stamp(clock.GetUtcNow())}");
    }

    // "/[account/]container/kind/name.json" (path style or not) -> "kind".
    private string? Kind(string path)
    {
        var marker = $"/{container}/";
        var at = path.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        var name = path[(at + marker.Length)..];
        var slash = name.IndexOf('/');
        return slash > 0 ? Uri.UnescapeDataString(name[..slash]) : null;
    }
}
