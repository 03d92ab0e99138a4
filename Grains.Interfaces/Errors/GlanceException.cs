namespace Glance.Grains.Errors;

/// <summary>What went wrong, in the terms of the Images API (each kind has one HTTP status).</summary>
public enum ErrorKind
{
    /// <summary>The request is malformed or violates the image schema (400).</summary>
    BadRequest = 400,
    /// <summary>No identity was presented (401).</summary>
    Unauthorized = 401,
    /// <summary>The caller may see the resource but not do this to it (403).</summary>
    Forbidden = 403,
    /// <summary>The resource does not exist or the caller may not see it (404).</summary>
    NotFound = 404,
    /// <summary>The resource's current state does not allow this (409).</summary>
    Conflict = 409,
    /// <summary>The resource went away while the request ran, e.g. deleted during an upload (410).</summary>
    Gone = 410,
    /// <summary>A quota or size limit would be exceeded (413).</summary>
    TooLarge = 413,
    /// <summary>An <c>If-Match</c> precondition does not hold: the resource changed (412).</summary>
    PreconditionFailed = 412,
    /// <summary>The request body has the wrong media type (415).</summary>
    UnsupportedMediaType = 415,
    /// <summary>A byte range outside the image's data (416).</summary>
    RangeNotSatisfiable = 416,
}

/// <summary>
/// The one exception grains throw for a rule the caller broke. It crosses the grain
/// boundary intact (kind and message), so the HTTP layer maps it to a status and a
/// direct grain caller can switch on <see cref="Kind"/>.
/// </summary>
[GenerateSerializer, Alias("glance.error")]
public sealed class GlanceException : Exception
{
    /// <summary>Creates an error of the given kind.</summary>
    public GlanceException(ErrorKind kind, string message) : base(message) => Kind = kind;

    /// <summary>What went wrong.</summary>
    [Id(0)]
    public ErrorKind Kind { get; private set; }

    /// <summary>400: malformed request.</summary>
    public static GlanceException BadRequest(string message) => new(ErrorKind.BadRequest, message);
    /// <summary>403: not allowed.</summary>
    public static GlanceException Forbidden(string message) => new(ErrorKind.Forbidden, message);
    /// <summary>404: not found or not visible.</summary>
    public static GlanceException NotFound(string message) => new(ErrorKind.NotFound, message);
    /// <summary>409: state conflict.</summary>
    public static GlanceException Conflict(string message) => new(ErrorKind.Conflict, message);
    /// <summary>413: over a quota.</summary>
    public static GlanceException TooLarge(string message) => new(ErrorKind.TooLarge, message);
}
